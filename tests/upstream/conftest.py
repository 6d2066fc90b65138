"""Real upstream MCP servers for the upstream-session tests: separate processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from upstream_servers import FixtureServer


@pytest.fixture(scope="session")
def dual_server() -> Iterator[FixtureServer]:
    """SDK server answering in both eras, SSE responses for legacy requests."""
    server = FixtureServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def json_server() -> Iterator[FixtureServer]:
    """SDK server in JSON-response mode."""
    server = FixtureServer("--json").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def legacy_server() -> Iterator[FixtureServer]:
    """Rejects 2026-07-28 requests like a legacy-only server does."""
    server = FixtureServer("--legacy-only").start()
    yield server
    server.stop()


@pytest.fixture
def own_server() -> Iterator[FixtureServer]:
    """A private dual-era server the test may restart."""
    server = FixtureServer().start()
    yield server
    server.stop()
