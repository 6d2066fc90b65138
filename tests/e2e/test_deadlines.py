"""No call hangs: an upstream that does not answer in time gets the caller a typed error,
and the upstream request is cancelled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from e2e_support import eventually, text_of
from mcp.shared.exceptions import MCPError

from support.gateway import GatewayProcess, ServerProcess, connect, start_all, stop_all

REQUEST_TIMEOUT = -32001


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_slow_upstream_call_ends_at_the_deadline_and_is_cancelled(tmp_path: Path, mode: str) -> None:
    upstream = ServerProcess.everything(tmp_path)
    gateway = GatewayProcess(tmp_path / "home", env={"MSPLEX_CALL_TIMEOUT_SECONDS": "1"})
    out = gateway.cli_batch(
        [
            ["tenant", "create", "slow"],
            ["tool", "enable", "*", "--tenant", "slow", "--kind", "all"],
            ["upstream", "add", "ev", "--tenant", "slow", "--url", upstream.url],
            ["token", "create", "--tenant", "slow"],
        ]
    )
    token = out[-1]["stdout"].strip().splitlines()[-1]
    start_all(upstream, gateway)
    try:
        async with connect(gateway.url("slow"), token, mode) as client:
            started = time.monotonic()
            with pytest.raises(MCPError) as failure:
                await client.call_tool("ev__slow", {"seconds": 30})
            waited = time.monotonic() - started
            assert failure.value.error.code == REQUEST_TIMEOUT
            assert "did not answer within 1 s" in failure.value.error.message
            assert waited < 10

            async def upstream_saw_the_cancel() -> bool:
                return bool(text_of(await client.call_tool("ev__cancelled", {})))

            await eventually(upstream_saw_the_cancel, what="the cancellation reaching the upstream")
    finally:
        stop_all(gateway, upstream)
