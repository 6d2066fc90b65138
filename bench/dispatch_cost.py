"""CPU per call of chain stages 10, 11 and 12 on the hot path, against what dispatch did before them.

``python -m bench.dispatch_cost [--calls N]`` runs, on one event loop and a connector that answers at
once, N calls of: dispatch as it was before stage 11 (straight to the connector), ``Dispatch`` (the
bulkhead's ``try_enter``/``leave`` around the connector), a stage that does nothing, and
``CheckApproval`` for a tool that needs no approval. It prints microseconds of CPU per call; the
differences are what the worker pool and the approval check add to an uncontended call. Then stage 12
(``WriteAudit``: the record built, committed by the group-commit writer to a temp SQLite store, and
waited for) with 1, 8 and 16 concurrent calls, and 8 whose calls reach it at scattered times as in a
gateway (``bench.audit_write``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.audit_write import audit_cpu_us
from msplex.call import Call, Principal, Target
from msplex.chain.stages.check_approval import CheckApproval, approval_required
from msplex.chain.stages.dispatch import Dispatch
from msplex.store.models import utcnow
from msplex.store.records import TenantRecord
from msplex.workers import Limits, Workers

RESULT = {"content": [{"type": "text", "text": "ok"}]}
BEFORE = "dispatch before stage 11"
AFTER = "Dispatch with the bulkhead (stage 11)"
SEMAPHORE = "the same inside an asyncio.Semaphore, for reference"
NOTHING = "a stage that does nothing"
CHECK = "CheckApproval, no approval needed (stage 10)"


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


class _Connector:
    async def execute(self, call: Call) -> dict[str, Any]:
        return RESULT


def _call() -> Call:
    item = {"name": "echo", "annotations": {"readOnlyHint": True}}
    target = Target("tool", "ev__echo", "ev", "echo", _Connector(), "upstream", item)
    call = Call("tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}, 1, "legacy", "2025-11-25", {}, _Peer())
    tenant = TenantRecord("t1", "acme", "Acme", False, utcnow())
    return call.learned(target=target, tenant=tenant, principal=Principal("token", "t1", "k1", "member"))


async def _previous_dispatch(call: Call) -> dict[str, Any]:
    """Dispatch's connector path before stage 11."""
    if call.target is not None:
        return await call.target.connector.execute(call)
    return {}


def _semaphore_dispatch() -> Callable[[Call], Awaitable[dict[str, Any]]]:
    """The connector path inside an ``asyncio.Semaphore`` (the reference the bulkhead is held against)."""
    semaphore = asyncio.Semaphore(32)

    async def dispatch(call: Call) -> dict[str, Any]:
        async with semaphore:
            return await _previous_dispatch(call)

    return dispatch


async def _no_stage(call: Call) -> Call:
    return call


async def _per_call(calls: int, step: Callable[[], Awaitable[Any]]) -> float:
    for _ in range(1000):
        await step()
    started = time.process_time()
    for _ in range(calls):
        await step()
    return (time.process_time() - started) / calls * 1e6


async def _measure(calls: int) -> dict[str, float]:
    call = _call()
    dispatch = Dispatch(lambda _: None, Workers(Limits()))
    check = CheckApproval(None)
    semaphore = _semaphore_dispatch()
    return {
        BEFORE: await _per_call(calls, lambda: _previous_dispatch(call)),
        AFTER: await _per_call(calls, lambda: dispatch(call)),
        SEMAPHORE: await _per_call(calls, lambda: semaphore(call)),
        NOTHING: await _per_call(calls, lambda: _no_stage(call)),
        CHECK: await _per_call(calls, lambda: check(call)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    rows = asyncio.run(_measure(args.calls))
    width = max(map(len, rows))
    for name, micros in rows.items():
        print(f"{name:<{width}}  {micros:6.3f} µs CPU/call")
    print(f"{'the bulkhead adds':<{width}}  {rows[AFTER] - rows[BEFORE]:6.3f} µs CPU/call")
    print(f"{'the approval check adds':<{width}}  {rows[CHECK]:6.3f} µs CPU/call (its predicate alone: ", end="")
    call = _call()
    started = time.process_time()
    for _ in range(args.calls):
        approval_required(call)
    print(f"{(time.process_time() - started) / args.calls * 1e6:.3f} µs)")
    with tempfile.TemporaryDirectory(prefix="msplex-dispatch-cost-") as tmp:
        for callers, staggered in ((1, False), (8, False), (8, True), (16, False)):
            calls = min(args.calls, 10_000)
            stage_us, entry_us = asyncio.run(audit_cpu_us(Path(tmp), callers, calls, staggered=staggered))
            label = f"WriteAudit (stage 12), {callers} concurrent{', staggered' if staggered else ''}"
            print(f"{label:<{width}}  {stage_us:6.3f} µs CPU/call (building the record: {entry_us:.3f} µs)")


if __name__ == "__main__":
    main()
