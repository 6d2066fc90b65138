"""UpstreamPool: one session per registered upstream, replaced on change, closed on removal, with health."""

from __future__ import annotations

import os
from typing import Any

import pytest
from upstream_servers import STDIO_COMMAND, FixtureServer, free_port

from msplex.upstream import UpstreamPool, UpstreamSpec, UpstreamUnavailable


def _stdio(name: str = "kid", **env: str) -> UpstreamSpec:
    return UpstreamSpec("tenant", name, "stdio", command=STDIO_COMMAND, env=tuple(env.items()))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _pid(session: Any) -> int:
    reply = await session.request("tools/call", {"name": "pid", "arguments": {}})
    return int(reply["result"]["content"][0]["text"])


async def test_same_spec_reuses_one_session_and_changed_spec_replaces_it() -> None:
    pool = UpstreamPool()
    try:
        a = await pool.get(_stdio())
        assert await pool.get(_stdio()) is a
        pid = await _pid(a)
        assert await _pid(await pool.get(_stdio())) == pid  # never a new session per call
        b = await pool.get(_stdio(MODE="changed"))
        assert b is not a
        await pool.sync([_stdio(MODE="changed")])
        assert _gone(pid)
        assert await _pid(b) != pid
    finally:
        await pool.close()


async def test_sync_closes_removed_upstreams_and_close_leaves_no_child() -> None:
    pool = UpstreamPool()
    one, two = await pool.get(_stdio("one")), await pool.get(_stdio("two"))
    pid_one, pid_two = await _pid(one), await _pid(two)
    await pool.sync([_stdio("two")])
    assert _gone(pid_one) and not _gone(pid_two)
    assert set(pool.health()) == {("tenant", "two")}
    await pool.close()
    assert _gone(pid_two)


async def test_health_records_failures_and_successes(dual_server: FixtureServer) -> None:
    pool = UpstreamPool()
    good = UpstreamSpec("tenant", "good", "http", url=dual_server.url)
    bad = UpstreamSpec("tenant", "bad", "http", url=f"http://127.0.0.1:{free_port()}/mcp")
    try:
        await pool.get(good)
        with pytest.raises(UpstreamUnavailable):
            await pool.get(bad)
        health = pool.health()
        assert health[("tenant", "good")]["state"] == "healthy"
        assert health[("tenant", "good")]["last_ok_at"] is not None
        assert health[("tenant", "bad")]["state"] == "unhealthy"
        assert "bad" in health[("tenant", "bad")]["error"]
        assert health[("tenant", "bad")]["last_ok_at"] is None
    finally:
        await pool.close()
