"""Fixtures for the conformance runs: the fixture upstream and the URL under test.

`conformance_target_url` / `conformance_target_headers` are the one seam to move:
today they point straight at the conformance fixture server; once the gateway
exists they return the gateway's endpoint for a tenant whose upstream is
`conformance_fixture_url`, and that tenant's bearer token.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import NoReturn

import pytest
from conformance_runner import missing_node_tools

REPO = Path(__file__).resolve().parents[2]

FIXTURE_SERVER = REPO / "tests" / "fixtures" / "conformance_server.py"


@pytest.fixture(scope="session")
def node_tools(unavailable: Callable[[str, str], NoReturn]) -> None:
    """Skip (fail under CI=true) when scripts/node-tools.sh has not installed the suites."""
    reason = missing_node_tools()
    if reason:
        unavailable("the Node 22 conformance suites", reason)


@pytest.fixture(scope="session")
async def conformance_fixture_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """`http://localhost:PORT/mcp` of a running conformance fixture server (a free port)."""
    log = tmp_path_factory.mktemp("conformance-fixture") / "server.log"
    with log.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(FIXTURE_SERVER),
            "--port",
            "0",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
        except TimeoutError:
            line = b""
        text = line.decode().strip()
        if not text.startswith("READY "):
            raise RuntimeError(f"conformance fixture did not start: {text!r}; log: {log.read_text()[-2000:]}")
        yield text.removeprefix("READY ")
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture(scope="session")
def conformance_target_url(conformance_fixture_url: str) -> str:
    """The MCP endpoint the conformance suites test (a `localhost` URL: dns-rebinding needs it)."""
    return conformance_fixture_url


@pytest.fixture(scope="session")
def conformance_target_headers() -> dict[str, str] | None:
    """Extra headers for every request to the target, e.g. `{"Authorization": "Bearer ..."}`."""
    return None
