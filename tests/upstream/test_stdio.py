"""StdioSession against the fixture upstream run as a real child process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from upstream_servers import STDIO_COMMAND

from msplex.upstream import StdioSession, UpstreamSpec, UpstreamUnavailable, list_all


def _spec(**env: str) -> UpstreamSpec:
    return UpstreamSpec("tenant", "kid", "stdio", command=STDIO_COMMAND, env=tuple(env.items()))


@pytest.fixture
async def stdio() -> AsyncIterator[StdioSession]:
    s = StdioSession(_spec(FIXTURE_FLAG="on"))
    yield s
    await s.close()


def text(reply: dict[str, Any]) -> str:
    return str(reply["result"]["content"][0]["text"])


async def call(s: StdioSession, name: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return await s.request("tools/call", {"name": name, "arguments": args or {}}, **kw)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_child_starts_lazily_and_speaks_legacy(stdio: StdioSession) -> None:
    assert stdio.pid is None and stdio.facts is None
    facts = await stdio.start()
    assert facts.era == "legacy" and facts.server_info["name"] == "fixture-everything"
    assert len(await list_all(stdio, "tools/list", "tools")) == 37
    replies = await asyncio.gather(*(call(stdio, "echo", {"text": str(i)}) for i in range(10)))
    assert [text(r) for r in replies] == [str(i) for i in range(10)]


async def test_child_env_is_an_allow_list(stdio: StdioSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSPLEX_SECRET_KEY", "do-not-leak")
    keys = text(await call(stdio, "env")).split(",")
    assert "MSPLEX_SECRET_KEY" not in keys
    assert "FIXTURE_FLAG" in keys and "PATH" in keys
    assert set(keys) <= {"PATH", "HOME", "LANG", "TMPDIR", "FIXTURE_FLAG"} | {k for k in keys if k.startswith("LC_")}


async def test_progress_routes_by_token_and_logs_to_the_request(stdio: StdioSession) -> None:
    seen: list[dict[str, Any]] = []

    async def on_notification(msg: dict[str, Any]) -> None:
        seen.append(msg)

    params = {"name": "progress", "arguments": {}, "_meta": {"progressToken": 7}}
    assert text(await stdio.request("tools/call", params, on_notification=on_notification)) == "progressed"
    assert [m["params"]["progress"] for m in seen if m["method"] == "notifications/progress"] == [1, 2, 3]
    assert any(m["method"] == "notifications/message" for m in seen)


async def test_elicitation_over_stdio_is_answered_by_on_request(stdio: StdioSession) -> None:
    async def on_request(msg: dict[str, Any]) -> dict[str, Any]:
        assert msg["method"] == "elicitation/create"
        return {"result": {"action": "accept", "content": {"colour": "green"}}}

    assert text(await call(stdio, "ask", on_request=on_request)) == "accept:green"


def _answering(colour: str, asked: list[str]) -> Any:
    async def on_request(msg: dict[str, Any]) -> dict[str, Any]:
        asked.append(colour)
        return {"result": {"action": "accept", "content": {"colour": colour}}}

    return on_request


async def test_an_unrelated_server_request_goes_to_no_stranger(stdio: StdioSession) -> None:
    """Regression: with X's slow call pending, Y's elicitation was shown to X and X's answer went to Y."""
    asked: list[str] = []
    await stdio.start()
    slow = asyncio.create_task(call(stdio, "slow", {"seconds": 1}, on_request=_answering("x", asked), caller="x"))
    await asyncio.sleep(0.3)  # X's call is pending at the child
    reply = await call(stdio, "ask", on_request=_answering("y", asked), caller="y")
    await slow
    assert asked == [], "nobody can tell whose question it is, so nobody is asked"
    assert "accept:x" not in json.dumps(reply)


async def test_a_server_request_reaches_its_caller_when_every_pending_request_is_theirs(stdio: StdioSession) -> None:
    asked: list[str] = []
    await stdio.start()
    slow = asyncio.create_task(call(stdio, "slow", {"seconds": 1}, on_request=_answering("x", asked), caller="x"))
    await asyncio.sleep(0.3)
    reply = await call(stdio, "ask", on_request=_answering("x", asked), caller="x")
    await slow
    assert text(reply) == "accept:x" and asked == ["x"]


async def test_list_changed_arrives_unsolicited_on_stdout(stdio: StdioSession) -> None:
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    stdio.on_unsolicited(got.put)
    await call(stdio, "change_tools")
    async with asyncio.timeout(5):
        msg = await got.get()
    assert msg["method"] == "notifications/tools/list_changed"


async def test_cancellation_reaches_the_child(stdio: StdioSession) -> None:
    await stdio.start()
    task = asyncio.create_task(call(stdio, "slow", {"seconds": 30}))
    await asyncio.sleep(0.3)  # let the request reach the child
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10):
        while not text(await call(stdio, "cancelled")):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_stderr_lines_go_to_the_log(stdio: StdioSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="msplex.upstream.stdio")
    await call(stdio, "noisy")
    async with asyncio.timeout(5):
        while not any("noisy line on stderr" in r.getMessage() for r in caplog.records):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    record = next(r for r in caplog.records if "noisy line on stderr" in r.getMessage())
    assert record.name == "msplex.upstream.stdio" and "kid" in record.getMessage()


async def test_crash_fails_pending_then_restarts_with_backoff(
    stdio: StdioSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="msplex.upstream.stdio")
    first = int(text(await call(stdio, "pid")))
    slow = asyncio.create_task(call(stdio, "slow", {"seconds": 30}))
    await asyncio.sleep(0.2)
    with pytest.raises(UpstreamUnavailable):
        await call(stdio, "crash")
    with pytest.raises(UpstreamUnavailable):
        await slow
    assert not alive(first)
    second = int(text(await call(stdio, "pid")))  # first restart: immediate
    assert second != first
    with pytest.raises(UpstreamUnavailable):
        await call(stdio, "crash")
    third = int(text(await call(stdio, "pid")))  # second restart waits out a backoff
    assert third not in (first, second)
    assert any("restarting in" in r.getMessage() for r in caplog.records)


async def test_close_terminates_and_reaps_the_child() -> None:
    s = StdioSession(_spec())
    pid = int(text(await call(s, "pid")))
    assert alive(pid)
    await s.close()
    assert not alive(pid)
    with pytest.raises(UpstreamUnavailable):
        await call(s, "pid")


async def test_missing_command_is_unavailable_not_a_traceback() -> None:
    s = StdioSession(UpstreamSpec("tenant", "ghost", "stdio", command=("/nonexistent/mcp-server",)))
    with pytest.raises(UpstreamUnavailable) as info:
        await s.start()
    assert "ghost" in str(info.value)
    await s.close()
