"""What the in-process benchmarks (`bench.chain`, `bench.connector_cost`) share: a `tools/call` as the edge
builds it, a client without a back-channel, and their command line (calls per round, rounds, a child's log)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from msplex.call import Call, Credential

__all__ = ["NullPeer", "cli", "tools_call"]


class NullPeer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None:
        pass

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        raise RuntimeError("no back-channel")


def tools_call(name: str, arguments: dict[str, Any], bearer: str, tenant: str = "bench") -> Call:
    """A fresh 2026-07-28 ``tools/call``, as the edge builds one per request."""
    return Call(
        method="tools/call",
        params={"name": name, "arguments": arguments},
        request_id=1,
        era="modern",
        protocol_version="2026-07-28",
        client_capabilities={},
        peer=NullPeer(),
        tenant_slug=tenant,
        credential=Credential(bearer),
    )


def cli(
    prog: str,
    doc: str | None,
    calls: int,
    log: str,
    run: Callable[[argparse.Namespace, Path], Awaitable[int]],
    argv: list[str] | None,
) -> int:
    p = argparse.ArgumentParser(prog=prog, description=doc)
    p.add_argument("--calls", type=int, default=calls, help=f"calls per round ({calls})")
    p.add_argument("--rounds", type=int, default=5, help="rounds; the best is reported (5)")
    path = Path(log)
    path.unlink(missing_ok=True)  # spawn appends: an old READY line would name a dead port
    return asyncio.run(run(p.parse_args(argv), path))
