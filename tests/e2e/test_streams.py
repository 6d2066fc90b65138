"""Notifications through the gateway: progress, logs, cancellation, list_changed, resource updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from e2e_support import Deployment, all_tools, eventually, rich_upstream, text_of
from mcp.client.subscriptions import ResourceUpdated, ToolsListChanged

from support.gateway import ServerProcess, connect, start_all, stop_all

MODES = ["legacy", "2026-07-28"]


class Seen:
    """Notifications a client received (``message_handler``), by method."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def __call__(self, message: Any) -> None:
        self.messages.append(message)

    def methods(self) -> list[str]:
        return [getattr(m, "method", type(m).__name__) for m in self.messages]


@pytest.fixture(scope="module")
def watch(deployment: Deployment, e2e_dir: Path) -> Iterator[tuple[str, str]]:
    """Tenant ``watch``: ``rm`` (rich, dual-era) and ``rl`` (rich, legacy-only), whose tools really change."""
    servers = [rich_upstream(e2e_dir), rich_upstream(e2e_dir, "--legacy-only")]
    try:
        for server in servers:
            server.launch()
        out = deployment.gw.cli_batch(
            [
                ["tenant", "create", "watch"],
                ["tool", "enable", "*", "--tenant", "watch", "--kind", "all"],
                ["upstream", "add", "rm", "--tenant", "watch", "--url", servers[0].url],
                ["upstream", "add", "rl", "--tenant", "watch", "--url", servers[1].url],
                ["token", "create", "--tenant", "watch"],
            ]
        )
        start_all(*servers)
        token = out[-1]["stdout"].strip().splitlines()[-1]
        deployment.gw.wait_accepts("watch", token)
        yield deployment.gw.url("watch"), token
    finally:
        stop_all(*servers)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("upstream", ["ev", "old", "sio"])
async def test_progress_and_log_notifications_reach_the_client(
    deployment: Deployment, mode: str, upstream: str
) -> None:
    progress: list[tuple[float, float | None]] = []
    logs: list[tuple[str, Any]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

    async def on_log(params: Any) -> None:
        logs.append((params.level, params.data))

    modern = mode != "legacy"
    async with connect(
        deployment.url, deployment.token, mode, logging_callback=on_log, log_level="info" if modern else None
    ) as client:
        if not modern:
            await client.set_logging_level("info")
        result = await client.call_tool(f"{upstream}__progress", {}, progress_callback=on_progress)

        async def all_arrived() -> bool:
            return len(progress) == 3 and bool(logs)

        await eventually(all_arrived, what="3 progress notifications and a log message")
    assert text_of(result) == "progressed"
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert logs == [("info", "working")]


async def test_modern_logs_are_not_sent_without_opt_in(deployment: Deployment) -> None:
    """2026-07-28: no ``logLevel`` in ``_meta`` means no logs (legacy servers MAY send them unasked)."""
    logs: list[Any] = []

    async def on_log(params: Any) -> None:
        logs.append(params)

    async with connect(deployment.url, deployment.token, "2026-07-28", logging_callback=on_log) as client:
        assert text_of(await client.call_tool("old__progress", {})) == "progressed"
        assert text_of(await client.call_tool("ev__progress", {})) == "progressed"
        assert text_of(await client.call_tool("ev__echo", {"text": "x"})) == "x"
    assert logs == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("upstream", ["ev", "old"])
async def test_cancellation_reaches_the_upstream(deployment: Deployment, mode: str, upstream: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:

        async def cancelled() -> list[str]:
            return [x for x in text_of(await client.call_tool(f"{upstream}__cancelled", {})).split(",") if x]

        before = len(await cancelled())
        with anyio.move_on_after(1.0) as scope:
            await client.call_tool(f"{upstream}__slow", {"seconds": 30})
        assert scope.cancelled_caught

        async def upstream_saw_it() -> bool:
            return len(await cancelled()) > before

        await eventually(upstream_saw_it, what=f"the cancellation reaching {upstream}")
        # The gateway still serves this client afterwards.
        assert text_of(await client.call_tool(f"{upstream}__echo", {"text": "after"})) == "after"


@pytest.mark.parametrize("upstream", ["rm", "rl"])
async def test_tools_list_changed_on_the_legacy_get_stream(watch: tuple[str, str], upstream: str) -> None:
    url, token = watch
    seen = Seen()
    async with connect(url, token, "legacy", message_handler=seen) as client:
        await client.list_tools()
        await anyio.sleep(0.3)  # the client's GET stream opens after initialize
        added = text_of(await client.call_tool(f"{upstream}__grow", {}))

        async def notified() -> bool:
            return "notifications/tools/list_changed" in seen.methods()

        await eventually(notified, what="tools/list_changed on the GET stream")
        names = [t.name for t in (await all_tools(client))[0]]
    assert f"{upstream}__{added}" in names


@pytest.mark.parametrize("upstream", ["rm", "rl"])
async def test_tools_list_changed_on_subscriptions_listen(watch: tuple[str, str], upstream: str) -> None:
    url, token = watch
    async with connect(url, token, "2026-07-28") as client:
        await client.list_tools()
        async with client.listen(tools_list_changed=True) as sub:
            assert sub.honored.tools_list_changed
            added = text_of(await client.call_tool(f"{upstream}__grow", {}))
            with anyio.fail_after(5):
                event = await sub.__anext__()
        assert isinstance(event, ToolsListChanged)
        names = [t.name for t in (await all_tools(client))[0]]
    assert f"{upstream}__{added}" in names


@pytest.mark.parametrize("upstream", ["ev", "old"])
async def test_resource_updates_for_a_legacy_subscription(deployment: Deployment, upstream: str) -> None:
    uri = f"{upstream}+test://watched"
    seen = Seen()
    async with connect(deployment.url, deployment.token, "legacy", message_handler=seen) as client:
        await client.session.subscribe_resource(uri)
        await anyio.sleep(0.3)
        await client.call_tool(f"{upstream}__touch", {"uri": "test://watched"})

        async def notified() -> bool:
            return any(getattr(m, "method", "") == "notifications/resources/updated" for m in seen.messages)

        await eventually(notified, what="notifications/resources/updated")
        await client.session.unsubscribe_resource(uri)
    updated = [m for m in seen.messages if getattr(m, "method", "") == "notifications/resources/updated"]
    assert {str(m.params.uri) for m in updated} == {uri}


@pytest.mark.parametrize("upstream", ["ev", "old"])
async def test_resource_updates_on_subscriptions_listen(deployment: Deployment, upstream: str) -> None:
    uri = f"{upstream}+test://watched"
    async with (
        connect(deployment.url, deployment.token, "2026-07-28") as client,
        client.listen(resource_subscriptions=[uri]) as sub,
    ):
        assert list(sub.honored.resource_subscriptions or []) == [uri]
        await client.call_tool(f"{upstream}__touch", {"uri": "test://watched"})
        with anyio.fail_after(5):
            event = await sub.__anext__()
    assert isinstance(event, ResourceUpdated)
    assert event.uri == uri


def test_fixture_processes_are_alive(deployment: Deployment) -> None:
    """Guard: every upstream survived the streams above (a crash would make later tests lie)."""
    for server in (deployment.ev, deployment.old, deployment.rich):
        assert isinstance(server, ServerProcess) and server.proc is not None and server.proc.poll() is None
