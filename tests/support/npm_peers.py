"""Real npm peers for end-to-end tests: the inspector CLI (a legacy-era client) and
server-everything (a legacy-era upstream), both installed by scripts/node-tools.sh.

Everything runs on the Node 22 from .cache/node-tools (with its bin folder first
on PATH, since inspector-cli re-spawns `node`). Quirks handled here:
- inspector-cli must run from a subfolder of its install folder (it reads
  `../package.json` relative to the working directory) and needs `--cli`;
- server-everything's HTTP mode listens on `PORT` on ALL interfaces, so start
  it only for the duration of a test (`everything_http`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.gateway import free_port

__all__ = [
    "NODE",
    "NODE_TOOLS",
    "InspectorResult",
    "NpmPeerError",
    "everything_http",
    "everything_stdio_command",
    "free_port",
    "missing_npm_peers",
    "node_env",
    "run_inspector",
]

REPO = Path(__file__).resolve().parents[2]
NODE_TOOLS = REPO / ".cache" / "node-tools"
NODE = NODE_TOOLS / "node22" / "node_modules" / ".bin" / "node"
_INSPECTOR = NODE_TOOLS / "inspector" / "node_modules" / "@modelcontextprotocol" / "inspector-cli" / "build" / "cli.js"
_INSPECTOR_CWD = NODE_TOOLS / "inspector" / "run"
_EVERYTHING = NODE_TOOLS / "everything" / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist"


class NpmPeerError(RuntimeError):
    """An npm peer is missing, failed to start, or did not answer in time."""


@dataclass(frozen=True)
class InspectorResult:
    """One inspector-cli run: exit code and output (stdout is JSON on success)."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON; NpmPeerError (with stderr) when the run failed."""
        if self.returncode != 0:
            raise NpmPeerError(f"inspector-cli exited {self.returncode}: {self.stderr[-1500:]}")
        return json.loads(self.stdout)


def missing_npm_peers() -> str | None:
    """Why the npm peers cannot run here, or None when they can."""
    needed = [NODE, _INSPECTOR, _EVERYTHING / "index.js"]
    absent = [str(p.relative_to(REPO)) for p in needed if not p.exists()]
    return f"missing {', '.join(absent)}; run scripts/node-tools.sh" if absent else None


def node_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for npm peers: Node 22 first on PATH, no inherited NODE_OPTIONS."""
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    env["PATH"] = f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def everything_stdio_command() -> list[str]:
    """argv that runs server-everything over stdio (e.g. for `msplex upstream add --command`)."""
    return [str(NODE), str(_EVERYTHING / "index.js"), "stdio"]


async def run_inspector(
    target: str | Sequence[str],
    *args: str,
    transport: str | None = "http",
    headers: Mapping[str, str] | None = None,
    time_limit: float = 60.0,
) -> InspectorResult:
    """Run `mcp-inspector-cli --cli TARGET [--transport T] [--header ...] *args`.

    `target` is a URL, or an argv list for a stdio server (then pass transport=None).
    Example: `await run_inspector(url, "--method", "tools/call", "--tool-name", "get-sum",
    "--tool-arg", "a=2", "b=3")`.
    """
    reason = missing_npm_peers()
    if reason:
        raise NpmPeerError(reason)
    argv = [str(NODE), str(_INSPECTOR), "--cli", *([target] if isinstance(target, str) else target)]
    if transport:
        argv += ["--transport", transport]
    for name, value in (headers or {}).items():
        argv += ["--header", f"{name}: {value}"]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        *args,
        cwd=_INSPECTOR_CWD,
        env=node_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), time_limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise NpmPeerError(f"inspector-cli did not finish within {time_limit:.0f}s") from None
    return InspectorResult(proc.returncode or 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@asynccontextmanager
async def everything_http(port: int | None = None, startup_s: float = 30.0) -> AsyncIterator[str]:
    """Run server-everything in `streamableHttp` mode; yields `http://localhost:PORT/mcp`.

    It binds all interfaces (no host option), so keep it short-lived.
    """
    reason = missing_npm_peers()
    if reason:
        raise NpmPeerError(reason)
    port = port or free_port()
    proc = await asyncio.create_subprocess_exec(
        str(NODE),
        str(_EVERYTHING / "index.js"),
        "streamableHttp",
        env=node_env({"PORT": str(port)}),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    drain: asyncio.Task[None] | None = None
    try:
        await _wait_listening(proc, port, startup_s)
        drain = asyncio.create_task(_drain(proc))
        yield f"http://localhost:{port}/mcp"
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if drain is not None:
            drain.cancel()


async def _wait_listening(proc: asyncio.subprocess.Process, port: int, startup_s: float) -> None:
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(startup_s):
            while True:
                line = (await proc.stderr.readline()).decode("utf-8", "replace")
                if not line:
                    raise NpmPeerError(f"server-everything exited during startup: {''.join(seen)[-1500:]}")
                seen.append(line)
                if f"listening on port {port}" in line:
                    return
    except TimeoutError:
        raise NpmPeerError(f"server-everything did not listen on port {port} within {startup_s:.0f}s") from None


async def _drain(proc: asyncio.subprocess.Process) -> None:
    """Keep reading its stderr so the pipe never fills and blocks the server."""
    assert proc.stderr is not None
    while await proc.stderr.read(65536):
        pass
