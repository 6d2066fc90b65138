"""UpstreamPool: one session per registered upstream, replaced on change, closed on removal.

(An upstream's health is its provider's: tests/connectors/test_upstream_health.py.)"""

from __future__ import annotations

import os
from typing import Any

from upstream_servers import STDIO_COMMAND

from msplex.upstream import UpstreamPool, UpstreamSpec


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
    assert pool.keys() == {("tenant", "two")}
    await pool.close()
    assert _gone(pid_two)
