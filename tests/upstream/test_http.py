"""HttpSession against real SDK upstreams in separate processes, both protocol eras."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from upstream_servers import FixtureServer

from msplex.upstream import HttpSession, UpstreamSpec, list_all
from msplex.upstream._unsolicited import CHANNEL_OPENED
from msplex.upstream.base import Era

LOG_OPT_IN = {"io.modelcontextprotocol/logLevel": "debug"}


def spec(url: str) -> UpstreamSpec:
    return UpstreamSpec("tenant", "fx", "http", url=url)


@asynccontextmanager
async def session(url: str, era: Era | None = None) -> AsyncIterator[HttpSession]:
    s = HttpSession(spec(url), era=era)
    try:
        yield s
    finally:
        await s.close()


def text(reply: dict[str, Any]) -> str:
    return str(reply["result"]["content"][0]["text"])


async def call(s: HttpSession, name: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return await s.request("tools/call", {"name": name, "arguments": args or {}}, **kw)


async def test_dual_era_upstream_is_detected_as_modern(dual_server: FixtureServer) -> None:
    async with session(dual_server.url) as s:
        facts = await s.start()
        assert (facts.era, facts.protocol_version) == ("modern", "2026-07-28")
        assert facts.server_info["name"] == "fixture-everything"
        assert facts.instructions == "fixture upstream"
        assert text(await call(s, "echo", {"text": "hi"})) == "hi"


async def test_legacy_only_upstream_falls_back_to_initialize(legacy_server: FixtureServer) -> None:
    async with session(legacy_server.url) as s:
        facts = await s.start()
        assert (facts.era, facts.protocol_version) == ("legacy", "2025-11-25")
        assert s.session_id
        assert text(await call(s, "echo", {"text": "hi"})) == "hi"


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_list_all_follows_pagination(dual_server: FixtureServer, era: Era) -> None:
    async with session(dual_server.url, era) as s:
        tools = await list_all(s, "tools/list", "tools")
        names = [t["name"] for t in tools]
        assert len(names) == 37 and len(set(names)) == 37
        assert names[-25:] == [f"t{i:02d}" for i in range(25)]
        routed = next(t for t in tools if t["name"] == "routed")
        assert routed["inputSchema"]["properties"]["region"]["x-mcp-header"] == "Region"


@pytest.mark.parametrize("era", ["legacy", "modern"])
@pytest.mark.parametrize("server", ["dual_server", "json_server"])
async def test_tools_call_over_json_and_sse_responses(request: pytest.FixtureRequest, server: str, era: Era) -> None:
    url = request.getfixturevalue(server).url
    async with session(url, era) as s:
        replies = await asyncio.gather(*(call(s, "echo", {"text": f"m{i}"}) for i in range(20)))
        assert [text(r) for r in replies] == [f"m{i}" for i in range(20)]
        missing = await s.request("no/such/method")
        assert missing["error"]["code"] == -32601


async def test_modern_call_sends_mcp_param_headers_learned_from_tools_list(
    dual_server: FixtureServer,
) -> None:
    async with session(dual_server.url, "modern") as s:
        await list_all(s, "tools/list", "tools")
        assert text(await call(s, "routed", {"region": "eu-west"})) == "eu-west"
        assert text(await call(s, "routed", {"region": "zürich "})) == "zürich "


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_progress_and_log_notifications_reach_on_notification(dual_server: FixtureServer, era: Era) -> None:
    seen: list[dict[str, Any]] = []

    async def on_notification(msg: dict[str, Any]) -> None:
        seen.append(msg)

    async with session(dual_server.url, era) as s:
        params = {"name": "progress", "arguments": {}, "_meta": {"progressToken": "tok", **LOG_OPT_IN}}
        reply = await s.request("tools/call", params, on_notification=on_notification)
    assert text(reply) == "progressed"
    progress = [m["params"]["progress"] for m in seen if m["method"] == "notifications/progress"]
    assert progress == [1, 2, 3]
    assert all(m["params"]["progressToken"] == "tok" for m in seen if m["method"] == "notifications/progress")
    assert [m["params"]["data"] for m in seen if m["method"] == "notifications/message"] == ["working"]


async def test_legacy_elicitation_is_answered_through_on_request(dual_server: FixtureServer) -> None:
    asked: list[dict[str, Any]] = []

    async def on_request(msg: dict[str, Any]) -> dict[str, Any]:
        asked.append(msg)
        return {"result": {"action": "accept", "content": {"colour": "blue"}}}

    async with session(dual_server.url, "legacy") as s:
        reply = await call(s, "ask", on_request=on_request)
    assert text(reply) == "accept:blue"
    assert asked[0]["method"] == "elicitation/create"
    assert asked[0]["params"]["message"] == "Colour?"


async def test_modern_input_required_result_is_returned_as_a_result(dual_server: FixtureServer) -> None:
    async with session(dual_server.url, "modern") as s:
        first = await call(s, "ask")
        result = first["result"]
        assert result["resultType"] == "input_required"
        assert result["inputRequests"]["colour"]["method"] == "elicitation/create"
        retry = {
            "name": "ask",
            "arguments": {},
            "inputResponses": {"colour": {"action": "accept", "content": {"colour": "red"}}},
            "requestState": result["requestState"],
        }
        second = await s.request("tools/call", retry)
    assert "modern answer" in text(second) and "red" in text(second)


async def _cancelled_ids(s: HttpSession) -> list[str]:
    out = text(await call(s, "cancelled"))
    return [x for x in out.split(",") if x]


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_cancelling_the_caller_cancels_the_upstream_request(own_server: FixtureServer, era: Era) -> None:
    async with session(own_server.url, era) as s:
        await s.start()
        task = asyncio.create_task(call(s, "slow", {"seconds": 30}))
        await asyncio.sleep(0.5)  # let the request reach the upstream handler
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(10):
            while not await _cancelled_ids(s):  # noqa: ASYNC110
                await asyncio.sleep(0.05)


async def test_caller_deadline_propagates_as_timeout(dual_server: FixtureServer) -> None:
    async with session(dual_server.url, "legacy") as s:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await call(s, "slow", {"seconds": 30})
        assert text(await call(s, "echo", {"text": "still fine"})) == "still fine"


async def _next_notification(got: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    """The next upstream notification, past the session's own channel-opened markers."""
    async with asyncio.timeout(5):
        while (msg := await got.get())["method"] == CHANNEL_OPENED["method"]:
            pass
    return msg


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_each_opening_of_the_channel_is_announced_first(own_server: FixtureServer, era: Era) -> None:
    """Notifications sent while the channel was down are lost; the marker tells the cache to re-read."""
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with session(own_server.url, era) as s:
        s.on_unsolicited(got.put)
        assert await s.unsolicited_ready()
        async with asyncio.timeout(5):
            assert (await got.get())["method"] == CHANNEL_OPENED["method"]
        own_server.restart()
        assert text(await call(s, "echo", {"text": "after"})) == "after"
        async with asyncio.timeout(15):
            assert (await got.get())["method"] == CHANNEL_OPENED["method"]


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_list_changed_is_delivered_unsolicited(own_server: FixtureServer, era: Era) -> None:
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async with session(own_server.url, era) as s:
        s.on_unsolicited(got.put)
        assert await s.unsolicited_ready()
        await call(s, "change_tools")
        msg = await _next_notification(got)
    assert msg["method"] == "notifications/tools/list_changed"


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_resource_subscription_delivers_updates(own_server: FixtureServer, era: Era) -> None:
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with session(own_server.url, era) as s:
        s.on_unsolicited(got.put)
        assert "result" in await s.subscribe_resource("test://watched")
        assert await s.unsolicited_ready()
        await call(s, "touch", {"uri": "test://other"})
        await call(s, "touch", {"uri": "test://watched"})
        msg = await _next_notification(got)
    assert msg["method"] == "notifications/resources/updated"
    assert msg["params"]["uri"] == "test://watched"


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_session_survives_an_upstream_restart(own_server: FixtureServer, era: Era) -> None:
    async with session(own_server.url, era) as s:
        assert text(await call(s, "echo", {"text": "before"})) == "before"
        old_sid = s.session_id
        own_server.restart()
        assert text(await call(s, "echo", {"text": "after"})) == "after"
        if era == "legacy":
            assert s.session_id and s.session_id != old_sid


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_credentials_are_asked_for_per_request_so_a_new_one_keeps_the_session(
    dual_server: FixtureServer, era: Era
) -> None:
    current = {"Authorization": "Bearer first"}

    async def credentials() -> dict[str, str]:
        return dict(current)

    s = HttpSession(spec(dual_server.url), era=era, headers=credentials)
    try:
        first = text(await call(s, "echo", {"header": "authorization"}))
        session_id = s.session_id
        current["Authorization"] = "Bearer second"
        second = text(await call(s, "echo", {"header": "authorization"}))
        assert s.session_id == session_id  # the same upstream session, now with the new credential
    finally:
        await s.close()
    assert (first, second) == ("Bearer first", "Bearer second")
