"""Types and helpers shared by the e2e test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types

from support.gateway import REPO, GatewayProcess, ServerProcess, free_port

__all__ = [
    "RICH",
    "Deployment",
    "NodePeers",
    "all_tools",
    "eventually",
    "node_peers",
    "rich_upstream",
    "text_of",
]

RICH = Path(__file__).resolve().parent / "rich_upstream.py"
LOOPBACK = Path(__file__).resolve().parent / "node_loopback.cjs"


@dataclass
class Deployment:
    """The session's gateway, tenant ``acme``'s token, and the upstream processes behind it."""

    gw: GatewayProcess
    token: str
    ev: ServerProcess
    old: ServerProcess
    rich: ServerProcess

    @property
    def url(self) -> str:
        return self.gw.url("acme")


def rich_upstream(log_dir: Path, *flags: str) -> ServerProcess:
    """An (unstarted) ``rich_upstream.py`` process on a free port."""
    port = free_port()
    argv = [sys.executable, str(RICH), "--port", str(port), *flags]
    return ServerProcess(argv, port, log_dir / f"rich-{port}.log")


def text_of(result: Any) -> str:
    """The text of a tool result's first content block."""
    block = result.content[0]
    assert isinstance(block, types.TextContent), block
    return block.text


async def eventually(probe: Callable[[], Awaitable[bool]], within: float = 5.0, what: str = "condition") -> None:
    """Poll ``probe`` until it is true; fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await probe():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not happen within {within:g} s")
        await asyncio.sleep(0.05)


async def all_tools(client: Any) -> tuple[list[types.Tool], int]:
    """Every tool of a listing, following cursors; and how many pages that took."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await client.list_tools(cursor=cursor)
        pages += 1
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools, pages


@dataclass(frozen=True)
class NodePeers:
    """The npm peers installed by ``scripts/node-tools.sh`` under ``.cache/node-tools``."""

    node: Path
    everything: Path
    inspector: Path
    inspector_cwd: Path

    def everything_argv(self, transport: str) -> list[str]:
        """server-everything, bound to 127.0.0.1 when it serves HTTP."""
        return [str(self.node), "--require", str(LOOPBACK), str(self.everything), transport]

    def inspector_argv(self, url: str, token: str, *args: str) -> list[str]:
        cli = [str(self.node), str(self.inspector), "--cli", url, "--transport", "http"]
        return [*cli, "--header", f"Authorization: Bearer {token}", *args]


def node_peers() -> NodePeers | str:
    """The installed peers, or why they are missing."""
    root = REPO / ".cache" / "node-tools"
    peers = NodePeers(
        node=root / "node22" / "node_modules" / ".bin" / "node",
        everything=root
        / "everything"
        / "node_modules"
        / "@modelcontextprotocol"
        / "server-everything"
        / "dist"
        / "index.js",
        inspector=root / "inspector" / "node_modules" / "@modelcontextprotocol" / "inspector-cli" / "build" / "cli.js",
        inspector_cwd=root / "inspector" / "run",
    )
    for path in (peers.node, peers.everything, peers.inspector):
        if not path.exists():
            return f"{path} is missing; run scripts/node-tools.sh"
    peers.inspector_cwd.mkdir(exist_ok=True)
    return peers
