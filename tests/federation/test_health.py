"""An upstream that dies between calls is found out by the probe; its last good list is still served."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from msplex.call import Call
from msplex.crypto import Keyring
from msplex.federation.gateway import Gateway
from msplex.federation.runtime import UpstreamEntry
from msplex.upstream.base import UpstreamSpec
from msplex.upstream.pool import UpstreamPool
from support.gateway import ServerProcess


class _Peer:
    can_request = False

    async def notify(self, message: dict) -> None: ...

    async def request(self, method: str, params: dict | None) -> dict:
        return {}


async def _until(check: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling observable state, as a client would
            await asyncio.sleep(0.05)


async def test_a_dead_upstream_turns_unhealthy_and_its_last_list_is_served(tmp_path: Path) -> None:
    upstream = ServerProcess.everything(tmp_path, "--json").start()
    gateway = Gateway(UpstreamPool(), Keyring([b"k" * 32]), {"name": "msplex", "version": "test"})
    spec = UpstreamSpec("t1", "ev", "http", url=upstream.url)
    try:
        gateway.apply([("t1", "acme", "Acme", False)], {"t1": [UpstreamEntry(spec)]}, {})
        runtime = gateway.tenant_by_id("t1")
        assert runtime is not None
        await _until(lambda: runtime.health()["ev"]["state"] == "healthy")
        upstream.stop()
        runtime.probe(0)
        await _until(lambda: runtime.health()["ev"]["state"] == "unhealthy")
        assert runtime.health()["ev"]["error"]
        listed = await runtime.handle(Call("tools/list", {}, 1, "legacy", "2025-11-25", {}, _Peer()))
        assert "ev__echo" in [tool["name"] for tool in listed["tools"]]
        upstream.start()
        runtime.probe(0)
        await _until(lambda: runtime.health()["ev"]["state"] == "healthy", within=40)
    finally:
        upstream.stop()
        await gateway.close()
