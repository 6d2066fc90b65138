"""An upstream's health is the provider's: a dead one is found out by the probe, its last good list is still
served, it is retried with backoff however many calls arrive, and it is healthy again once it answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from msplex.call import Call, Credential
from msplex.errors import Code, Denied, Stage
from msplex.events import Event
from msplex.store.models import utcnow
from msplex.store.records import UpstreamEntry
from msplex.upstream import UpstreamSpec
from support.gateway import ServerProcess, free_port
from support.inproc import InProcess, snapshot, start

TOKEN = "mspx_health"


class _Peer:
    can_request = False

    async def notify(self, message: dict) -> None: ...

    async def request(self, method: str, params: dict | None) -> dict:
        return {}


async def _until(check: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polling observable state, as a client would
            await asyncio.sleep(0.05)


def _entry(name: str, url: str) -> UpstreamEntry:
    return UpstreamEntry(name, UpstreamSpec("t1", name, "http", url=url), True, utcnow())


async def _gateway(*entries: UpstreamEntry) -> InProcess:
    return await start(snapshot([("t1", "acme", False)], {TOKEN: ("t1", "k1")}, {"t1": entries}))


def _call(method: str, params: dict | None = None) -> Call:
    return Call(
        method, params or {}, 1, "legacy", "2025-11-25", {}, _Peer(), tenant_slug="acme", credential=Credential(TOKEN)
    )


def _health(gateway: InProcess, name: str) -> str:
    health = gateway.gateway.health()["t1"].get(name)
    return health.state if health is not None else "absent"


async def test_a_dead_upstream_turns_unhealthy_its_items_leave_the_lists_and_come_back(tmp_path: Path) -> None:
    """Readiness (chain stage 7): a list never shows what a call would refuse. The last good listing is
    kept (the catalogue still routes the name), so a call is refused with the reason, not 'unknown tool'."""
    upstream = ServerProcess.everything(tmp_path, "--json").start()
    gateway = await _gateway(_entry("ev", upstream.url))
    heard: list[Event] = []
    try:
        await _until(lambda: _health(gateway, "ev") == "ok")
        gateway.gateway.listen(heard.append)
        upstream.stop()
        gateway.gateway.catalogue("t1").probe(0)  # type: ignore[union-attr]
        await _until(lambda: _health(gateway, "ev") == "unhealthy")
        assert {e.kind for e in heard} == {"tools", "prompts", "resources"}  # connected clients re-list
        heard.clear()
        assert gateway.gateway.health()["t1"]["ev"].error
        _, listed = await gateway.gateway.chain.run(_call("tools/list"))
        assert listed == {"tools": []}
        assert "ev__echo" in gateway.gateway.catalogue("t1").current.tools  # type: ignore[union-attr]
        with pytest.raises(Denied) as refused:
            await gateway.gateway.chain.run(_call("tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}))
        assert refused.value.stage is Stage.VERIFY_READINESS and refused.value.code is Code.NOT_READY
        assert "upstream 'ev' is not ready" in refused.value.reason and "msplex tool list --tenant acme" in (
            refused.value.reason
        )
        upstream.start()
        gateway.gateway.catalogue("t1").probe(0)  # type: ignore[union-attr]
        await _until(lambda: _health(gateway, "ev") == "ok", within=40)
        assert {"tools", "prompts", "resources"} <= {e.kind for e in heard}
        _, listed = await gateway.gateway.chain.run(_call("tools/list"))
        assert listed is not None and "ev__echo" in [tool["name"] for tool in listed["tools"]]
    finally:
        upstream.stop()
        await gateway.close()


async def test_health_records_failures_and_successes(tmp_path: Path) -> None:
    upstream = ServerProcess.everything(tmp_path, "--json").start()
    gateway = await _gateway(_entry("good", upstream.url), _entry("bad", f"http://127.0.0.1:{free_port()}/mcp"))
    try:
        await _until(lambda: {_health(gateway, "good"), _health(gateway, "bad")} == {"ok", "unhealthy"})
        health = gateway.gateway.health()["t1"]
        assert health["good"].last_ok_at is not None and health["good"].tools > 0
        assert health["bad"].error and "bad" in health["bad"].error
        assert health["bad"].last_ok_at is None
    finally:
        upstream.stop()
        await gateway.close()


async def test_calls_to_a_dead_upstream_respect_its_backoff(caplog: pytest.LogCaptureFixture) -> None:
    """Regression: client traffic used to re-contact a dead upstream on every call (84 times a second),
    logging a warning each time."""
    dead = _entry("dead", f"http://127.0.0.1:{free_port()}/mcp")
    caplog.set_level(logging.DEBUG, logger="msplex.federation")
    gateway = await _gateway(dead)

    def attempts() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "unhealthy" in r.getMessage() and "dead" in r.getMessage()]

    try:
        await _until(lambda: _health(gateway, "dead") == "unhealthy")
        before = len(attempts())
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(200):
            for method, params in (("tools/list", None), ("tools/call", {"name": "dead__x", "arguments": {}})):
                with contextlib.suppress(Exception):  # the unknown tool is expected; only the cost matters
                    await gateway.gateway.chain.run(_call(method, params))
        elapsed = loop.time() - started
        during = attempts()[before:]
    finally:
        await gateway.close()
    # The first retry is due 1 s after the failure, then 2 s...: a burst sees at most a retry or two.
    assert len(during) <= 1 + int(elapsed), [r.getMessage() for r in during]
    assert [r for r in during if r.levelno >= logging.WARNING] == [], "the same failure is warned about once"
    # Unknown names answer at once once every upstream has been tried (it used to cost 5 s each).
    assert elapsed < 20.0, f"400 calls took {elapsed:.1f} s"
