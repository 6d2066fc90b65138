"""Dispatch to a bounded worker pool per connector instance: a slow instance is refused as busy once its
workers and queue are full, while another instance of the same tenant still serves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from e2e_support import eventually, text_of
from mcp.shared.exceptions import MCPError

from support.gateway import GatewayProcess, ServerProcess, connect, start_all, stop_all

BUSY = -32005


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_busy_instance_is_refused_while_another_still_serves(tmp_path: Path, mode: str) -> None:
    upstream = ServerProcess.everything(tmp_path)
    env = {"MSPLEX_WORKER_CONCURRENCY": "1", "MSPLEX_WORKER_QUEUE": "0"}
    gateway = GatewayProcess(tmp_path / "home", env=env)
    out = gateway.cli_batch(
        [
            ["tenant", "create", "busy"],
            ["tool", "enable", "*", "--tenant", "busy", "--kind", "all"],
            ["upstream", "add", "ev", "--tenant", "busy", "--url", upstream.url],
            ["upstream", "add", "ev2", "--tenant", "busy", "--url", upstream.url],
            ["token", "create", "--tenant", "busy"],
        ]
    )
    token = out[-1]["stdout"].strip().splitlines()[-1]
    start_all(upstream, gateway)
    try:
        async with (
            connect(gateway.url("busy"), token, mode) as slow_client,
            connect(gateway.url("busy"), token, mode) as client,
        ):
            await client.list_tools()
            slow = asyncio.ensure_future(slow_client.call_tool("ev__slow", {"seconds": 6}))
            await asyncio.sleep(0.5)  # a head start; a probe that wins the worker first only delays the refusal
            refusals: list[MCPError] = []

            async def refused_as_busy() -> bool:
                nonlocal slow
                if slow.done():  # our probe held the worker when the slow call came: start it again
                    slow = asyncio.ensure_future(slow_client.call_tool("ev__slow", {"seconds": 6}))
                    await asyncio.sleep(0.5)
                try:
                    await client.call_tool("ev__echo", {"text": "queued?"})
                except MCPError as exc:
                    refusals.append(exc)
                    return True
                return False

            await eventually(refused_as_busy, within=5, what="ev refusing a call while its one worker is busy")
            error = refusals[-1].error
            assert error.code == BUSY and "'ev' is busy" in error.message and "try again" in error.message
            assert error.data == {"stage": "dispatch", "reason": error.message.removeprefix("dispatch: ")}
            assert text_of(await client.call_tool("ev2__echo", {"text": "other instance"})) == "other instance"
            assert not slow.done()
            assert text_of(await asyncio.wait_for(slow, 30)) == "done"
            assert text_of(await client.call_tool("ev__echo", {"text": "free again"})) == "free again"
    finally:
        stop_all(gateway, upstream)
