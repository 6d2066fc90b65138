"""Fixtures for the conformance runs: the fixture upstream, and the gateway in front of it.

The suites run against the gateway (`conformance_target_url`), never the fixture
directly: the gateway is what must conform, with the fixture as its upstream.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from conformance_runner import missing_node_tools

from support.gateway import GatewayProcess

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
def conformance_gateway(
    conformance_fixture_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A running gateway whose tenant ``conformance`` federates the fixture unprefixed.

    Unprefixed because the suites call the fixture's exact tool and prompt names
    and ``test://`` URIs; the gateway is the server under test.
    """
    gateway = GatewayProcess(tmp_path_factory.mktemp("conformance-gateway"))
    gateway.cli("tenant", "create", "conformance")
    gateway.cli("tool", "enable", "*", "--tenant", "conformance", "--kind", "all")
    gateway.cli(
        "upstream", "add", "fixture", "--tenant", "conformance", "--url", conformance_fixture_url, "--no-prefix"
    )
    token = gateway.token("conformance")
    gateway.start()
    try:
        gateway.wait_accepts("conformance", token, timeout=15)
        yield gateway.url("conformance").replace("127.0.0.1", "localhost"), token
    finally:
        gateway.stop()


@pytest.fixture(scope="session")
def conformance_target_url(conformance_gateway: tuple[str, str]) -> str:
    """The MCP endpoint the conformance suites test (a `localhost` URL: dns-rebinding needs it)."""
    return conformance_gateway[0]


@pytest.fixture(scope="session")
def conformance_target_headers(conformance_gateway: tuple[str, str]) -> dict[str, str] | None:
    """Every request carries the tenant's bearer token (the CLI cannot; see inject_headers.mjs)."""
    return {"Authorization": f"Bearer {conformance_gateway[1]}"}
