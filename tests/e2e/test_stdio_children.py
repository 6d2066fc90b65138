"""A stdio upstream never outlives its gateway, even one killed without a chance to clean up.

The upstream here ignores its stdin closing (``--linger``), as a misbehaving server might, so
only the gateway's own guarantee (the kernel signals the child when its parent dies) ends it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from e2e_support import text_of

from support.gateway import EVERYTHING, GatewayProcess, connect

LINGERING = f"{sys.executable} {EVERYTHING} --stdio --linger"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_a_killed_gateway_takes_its_stdio_children_with_it(tmp_path: Path) -> None:
    gateway = GatewayProcess(tmp_path / "home")
    out = gateway.cli_batch(
        [
            ["tenant", "create", "solo"],
            ["tool", "enable", "*", "--tenant", "solo", "--kind", "all"],
            [
                "upstream",
                "add",
                "sio",
                "--tenant",
                "solo",
                "--command",
                f"{sys.executable} {EVERYTHING} --stdio --linger",
            ],
            ["token", "create", "--tenant", "solo"],
        ]
    )
    token = out[-1]["stdout"].strip().splitlines()[-1]
    gateway.start()
    try:
        async with connect(gateway.url("solo"), token) as client:
            child = int(text_of(await client.call_tool("sio__pid", {})))
        assert _alive(child)
        assert gateway.proc is not None
        gateway.proc.send_signal(signal.SIGKILL)
        gateway.proc.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.05)
        assert not _alive(child), f"stdio upstream {child} outlived its gateway"
    finally:
        gateway.stop()
