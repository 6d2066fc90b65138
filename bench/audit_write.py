"""`python -m bench.audit_write`: audit records per second on SQLite, and the CPU stage 12 adds to a call.

Part 1 (throughput): a fresh SQLite store in a temp directory (WAL, the gateway's own settings) and the
gateway's group-commit writer; C concurrent callers each write records one after another and wait for
each commit, as a call does (C = 1, 16, 64, 256). Prints records/s (wall clock), transactions and the
mean batch. Part 2 (CPU): `WriteAudit` (stage 12) run on a `tools/call` outcome by C concurrent
callers: process CPU per call (the event loop, the writer and SQLite's thread), against building the
record alone (`entry_of`: redaction, digest). `--postgres URL` runs part 1 on PostgreSQL too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from msplex.audit.entry import AuditEntry, entry_of
from msplex.audit.writer import AuditWriter
from msplex.call import Call, Principal, Target
from msplex.chain import Outcome
from msplex.chain.stages.write_audit import WriteAudit
from msplex.crypto import Keyring
from msplex.directory import Directory
from msplex.store import Store, make_engine
from msplex.store.records import TenantRecord

__all__ = ["audit_cpu_us", "main"]

RESULT = {"content": [{"type": "text", "text": "ok"}]}


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


class _Connector:
    async def execute(self, call: Call) -> dict[str, Any]:
        return RESULT


def _entry(tenant_id: str, n: int) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant_id, at=datetime.now(UTC), principal="token:k1", audience="member", customer_id=None,
        customer=None, method="tools/call", kind="tool", name=f"ev__tool{n % 7}", connector="ev",
        args_digest="m1.0011223344556677.aabbccdd", stage="dispatch", decision="allow", rule=None,
        approval_id=None, overage=False, outcome="ok", error_code=None, reason=None, latency_us=250,
        request_id=str(n),
    )  # fmt: skip


def _outcome(tenant: TenantRecord) -> Outcome:
    item = {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}
    target = Target("tool", "ev__echo", "ev", "echo", _Connector(), "upstream", item)
    call = Call("tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}, 1, "legacy", "2025-11-25", {}, _Peer())
    call = call.learned(target=target, tenant=tenant, principal=Principal("token", tenant.id, "k1", "member"))
    return Outcome(call, dispatched=True, result=RESULT, finished=time.perf_counter())


async def _store(url: str | None, home: Path, schema: str | None = None) -> tuple[Store, TenantRecord]:
    """A migrated store: a SQLite file in ``home``, or ``schema`` (a throwaway one) of the PostgreSQL at ``url``."""
    kwargs: dict[str, Any] = {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {}
    store = Store(make_engine(url or f"sqlite+aiosqlite:///{home / 'audit.db'}", **kwargs), Keyring([os.urandom(32)]))
    await store.migrate()
    tenant = await store.create_tenant(f"bench-{os.urandom(3).hex()}")
    return store, tenant


async def _concurrently(callers: int, per_caller: int, step: Callable[[int], Awaitable[None]]) -> None:
    async def caller(c: int) -> None:
        for n in range(per_caller):
            await step(c * per_caller + n)

    await asyncio.gather(*(caller(c) for c in range(callers)))


async def records_per_second(
    url: str | None, home: Path, callers: int, records: int, schema: str | None = None
) -> tuple[float, int]:
    """Records/s with ``callers`` concurrent writers waiting for each commit; and the transactions used."""
    store, tenant = await _store(url, home, schema)
    writer = AuditWriter(store)
    await writer.start()
    try:
        await _concurrently(min(callers, 8), 20, lambda n: writer.write(_entry(tenant.id, n)))  # warm
        batches = writer.batches
        started = time.perf_counter()
        await _concurrently(callers, records // callers, lambda n: writer.write(_entry(tenant.id, n)))
        elapsed = time.perf_counter() - started
        return (records // callers * callers) / elapsed, writer.batches - batches
    finally:
        await writer.close()
        await store.close()


async def audit_cpu_us(home: Path, callers: int, calls: int, *, staggered: bool = False) -> tuple[float, float]:
    """Process CPU per call (µs) of ``WriteAudit`` on a ``tools/call`` outcome with ``callers`` concurrent
    callers, and of building the record alone (``entry_of``). ``staggered``: each call is announced to the
    writer as the chain does, then does the rest of a gateway's work first (four 50 µs slices of CPU, each
    followed by 0-0.4 ms asleep, as on sockets), so calls reach stage 12 at scattered times on a busy
    loop, as in a gateway, not in lockstep; the CPU of the same calls without stage 12 is subtracted."""
    store, tenant = await _store(None, home)
    writer = AuditWriter(store)
    await writer.start()
    stage = WriteAudit(writer, Directory())
    outcome = _outcome(tenant)
    rng = random.Random(12)
    try:

        async def work() -> None:
            for _ in range(4):
                _spin(50e-6)
                await asyncio.sleep(rng.uniform(0, 0.0004))

        async def one(_: int) -> None:
            expected = stage.expect(outcome.call.method)
            if staggered:
                await work()
            await stage(outcome, expected)

        async def without_stage(_: int) -> None:
            await work()

        await _concurrently(callers, 50, one)  # warm
        per_caller = calls // callers
        started = time.process_time()
        await _concurrently(callers, per_caller, one)
        stage_us = (time.process_time() - started) / (per_caller * callers) * 1e6
        if staggered:
            started = time.process_time()
            await _concurrently(callers, per_caller, without_stage)
            stage_us -= (time.process_time() - started) / (per_caller * callers) * 1e6
        started = time.process_time()
        for _ in range(calls):
            entry_of(outcome, store.keyring, lambda call: None)
        entry_us = (time.process_time() - started) / calls * 1e6
        return stage_us, entry_us
    finally:
        await writer.close()
        await store.close()


def _spin(seconds: float) -> None:
    """Burn ``seconds`` of CPU (CPU time, not wall time: on a busy machine the two differ)."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


async def _schema(url: str, statement: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def _run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="msplex-audit-bench-") as tmp:
        backends: list[tuple[str, str | None]] = [("sqlite", None)]
        if args.postgres:
            backends.append(("postgresql", args.postgres))
        for name, url in backends:
            schema = f"msplex_bench_{os.urandom(6).hex()}" if url else None
            if url and schema:
                await _schema(url, f'CREATE SCHEMA "{schema}"')
            try:
                for callers in (1, 16, 64, 256):
                    records = args.records if callers > 1 else args.records // 10  # one caller: a commit a record
                    rate, batches = await records_per_second(url, Path(tmp), callers, records, schema)
                    mean = records / max(batches, 1)
                    print(f"{name:<10} {callers:>4} concurrent callers: {rate:>9,.0f} records/s  "
                          f"({batches} transactions, {mean:.1f} records each)", flush=True)  # fmt: skip
            finally:
                if url and schema:
                    await _schema(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for callers, staggered in ((1, False), (8, False), (8, True), (16, False), (64, False)):
            stage_us, entry_us = await audit_cpu_us(Path(tmp), callers, args.calls, staggered=staggered)
            how = ", staggered" if staggered else ""
            print(f"stage 12 (WriteAudit, SQLite), {callers:>3} concurrent calls{how}: {stage_us:7.1f} µs CPU/call "
                  f"(building the record: {entry_us:.1f} µs)", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_write", description=__doc__)
    parser.add_argument("--records", type=int, default=20_000, help="records per throughput row (20000)")
    parser.add_argument("--calls", type=int, default=10_000, help="calls per CPU row (10000)")
    parser.add_argument("--postgres", default="", help="also measure this PostgreSQL URL (postgresql+asyncpg://...)")
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
