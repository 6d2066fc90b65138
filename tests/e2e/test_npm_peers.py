"""The npm reference peers through the gateway: server-everything as an upstream (stdio and
Streamable HTTP) and the inspector CLI as a legacy-era client."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from e2e_support import Deployment, NodePeers, all_tools, node_peers, text_of

from support.gateway import ServerProcess, connect, free_port, start_all, stop_all

pytestmark = pytest.mark.node

MODES = ["legacy", "2026-07-28"]


@pytest.fixture(scope="module")
def peers(unavailable: Callable[[str, str], NoReturn]) -> NodePeers:
    found = node_peers()
    if isinstance(found, str):
        unavailable("the npm peers", found)
    return found


@pytest.fixture(scope="module")
def npm_tenant(deployment: Deployment, peers: NodePeers, e2e_dir: Path) -> Iterator[tuple[str, str]]:
    """Tenant ``npm``: server-everything over stdio (``evs``) and over HTTP (``evh``)."""
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    http = ServerProcess(peers.everything_argv("streamableHttp"), port, e2e_dir / "server-everything.log", env)
    try:
        http.launch()
        stdio = " ".join(peers.everything_argv("stdio"))
        out = deployment.gw.cli_batch(
            [
                ["tenant", "create", "npm"],
                ["tool", "enable", "*", "--tenant", "npm", "--kind", "all"],
                ["upstream", "add", "evs", "--tenant", "npm", "--command", stdio],
                ["upstream", "add", "evh", "--tenant", "npm", "--url", http.url],
                ["token", "create", "--tenant", "npm"],
            ]
        )
        start_all(http)
        token = out[-1]["stdout"].strip().splitlines()[-1]
        deployment.gw.wait_accepts("npm", token)
        yield deployment.gw.url("npm"), token
    finally:
        stop_all(http)


@pytest.mark.parametrize("mode", MODES)
async def test_server_everything_over_stdio_and_http(npm_tenant: tuple[str, str], mode: str) -> None:
    url, token = npm_tenant
    async with connect(url, token, mode) as client:
        names = {t.name for t in (await all_tools(client))[0]}
        echo = await client.call_tool("evs__echo", {"message": "hi stdio"})
        total = await client.call_tool("evh__get-sum", {"a": 2, "b": 3})
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        got = await client.get_prompt("evh__simple-prompt", {})
    for upstream in ("evs", "evh"):
        assert {f"{upstream}__echo", f"{upstream}__get-sum", f"{upstream}__get-structured-content"} <= names
        assert f"{upstream}__simple-prompt" in prompts
    assert text_of(echo) == "Echo: hi stdio"
    assert text_of(total) == "The sum of 2 and 3 is 5."
    assert got.messages


def _node_env(peers: NodePeers) -> dict[str, str]:
    """inspector-cli re-spawns ``node``: put Node 22 first on PATH."""
    return {**os.environ, "PATH": f"{peers.node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


async def _inspector(peers: NodePeers, url: str, token: str, *args: str) -> Any:
    proc = await asyncio.create_subprocess_exec(
        *peers.inspector_argv(url, token, *args),
        cwd=peers.inspector_cwd,
        env=_node_env(peers),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"inspector CLI failed ({proc.returncode}): {err.decode()[-2000:]}"
    return json.loads(out)


async def test_inspector_cli_lists_and_calls_through_the_gateway(deployment: Deployment, peers: NodePeers) -> None:
    listed, called = await asyncio.gather(
        _inspector(peers, deployment.url, deployment.token, "--method", "tools/list"),
        _inspector(
            peers,
            deployment.url,
            deployment.token,
            "--method",
            "tools/call",
            "--tool-name",
            "ev__echo",
            "--tool-arg",
            "text=hello inspector",
        ),
    )
    names = [t["name"] for t in listed["tools"]]
    assert "ev__echo" in names and names == sorted(names)
    assert called["content"][0]["text"] == "hello inspector"


async def test_inspector_cli_against_server_everything_behind_the_gateway(
    npm_tenant: tuple[str, str], peers: NodePeers
) -> None:
    url, token = npm_tenant
    called, resources = await asyncio.gather(
        _inspector(
            peers, url, token, "--method", "tools/call", "--tool-name", "evh__get-sum", "--tool-arg", "a=4", "b=5"
        ),
        _inspector(peers, url, token, "--method", "resources/list"),
    )
    assert called["content"][0]["text"] == "The sum of 4 and 5 is 9."
    uris = [r["uri"] for r in resources["resources"]]
    assert uris and all(u.startswith(("evs+", "evh+")) for u in uris)


async def test_inspector_cli_with_a_wrong_token_fails_cleanly(deployment: Deployment, peers: NodePeers) -> None:
    proc = await asyncio.create_subprocess_exec(
        *peers.inspector_argv(deployment.url, "mspx_not-a-token", "--method", "tools/list"),
        cwd=peers.inspector_cwd,
        env=_node_env(peers),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    text = (err + out).decode()
    assert "the bearer token is unknown or revoked" in text
    assert "Traceback" not in text
