"""A vendor connector through a real gateway process, as an operator sets it up and a client calls it: the
framework's example vendor (``widgets``, a plugin through ``MSPLEX_VENDOR_MODULES``) against its fake on
127.0.0.1, with ``msplex connect``, customer mapping, tool enabling and MCP calls over real HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "connectors" / "framework"))

from widgets_vendor import KEY, Fake, served  # noqa: E402

from support.gateway import GatewayProcess  # noqa: E402

MODERN = "2026-07-28"
Setup = tuple[GatewayProcess, Fake, str, dict[str, str]]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    paths = os.pathsep.join([str(TESTS / "connectors" / "framework"), str(TESTS), os.environ.get("PYTHONPATH", "")])
    gw = GatewayProcess(
        tmp_path / "home", env={"MSPLEX_VENDOR_MODULES": "widgets_vendor", "PYTHONPATH": paths, "WIDGETS_API_KEY": KEY}
    )
    async with served() as (fake, url):
        await gw.acli("tenant", "create", "acme")
        await gw.acli("customer", "create", "bravo", "-t", "acme", "--name", "Fabrikam")
        _, out, _ = await gw.acli("connect", "widgets", "-t", "acme", "--base-url", url, "--enable", "read-only")
        assert "-> Gateway session ready" in out
        await gw.acli("customer", "map", "bravo", "-t", "acme", "--connector", "widgets", "--vendor-id", "2")
        await gw.acli("tool", "enable", "widgets__*", "-t", "acme", "--audience", "customer,member,admin")
        tokens = {
            "admin": (await gw.acli("token", "create", "-t", "acme", "--role", "admin"))[1].strip().splitlines()[-1],
            "bravo": (await gw.acli("token", "create", "-t", "acme", "--role", "customer", "--customer", "bravo"))[1]
            .strip()
            .splitlines()[-1],
        }
        gw.launch()
        try:
            await _ready(gw)
            yield gw, fake, url, tokens
        finally:
            gw.stop()


async def _ready(gw: GatewayProcess) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(400):
            try:
                if (await http.get(f"{gw.base}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(gw.log_text()[-2000:])


async def rpc(gw: GatewayProcess, token: str, method: str, params: dict[str, Any] | None = None) -> Any:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**(params or {}), "_meta": meta}}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method, "Accept": "application/json",
               "Authorization": f"Bearer {token}"}  # fmt: skip
    if method == "tools/call":
        headers["Mcp-Name"] = (params or {})["name"]
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(gw.url("acme"), json=body, headers=headers)
    return response.json()


async def tool(gw: GatewayProcess, token: str, name: str, args: dict[str, Any]) -> Any:
    return (await rpc(gw, token, "tools/call", {"name": name, "arguments": args}))["result"]


async def test_a_client_lists_pages_writes_and_is_scoped(
    setup: tuple[GatewayProcess, Fake, str, dict[str, str]],
) -> None:
    gw, fake, _, tokens = setup
    names = {t["name"] for t in (await rpc(gw, tokens["admin"], "tools/list"))["result"]["tools"]}
    assert {"widgets__list_widgets", "widgets__get_widget", "widgets__add_note"} <= names
    first = await tool(gw, tokens["admin"], "widgets__list_widgets", {"page_size": 25})
    assert first["structuredContent"]["has_more"] is True
    second = await tool(gw, tokens["admin"], "widgets__list_widgets", {"page_size": 25, "page": 2})
    assert len(second["structuredContent"]["items"]) == 15 and second["structuredContent"]["has_more"] is False
    fake.throttle = 1  # one 429 with Retry-After: 1, recovered inside the call
    recovered = await tool(gw, tokens["admin"], "widgets__get_widget", {"id": 3})
    assert recovered["isError"] is False and recovered["structuredContent"]["password_redacted"] is True
    assert "pw-secret-3" not in str(recovered)
    note = await tool(gw, tokens["admin"], "widgets__add_note", {"id": 3, "text": "internal"})
    assert note["isError"] is False and note["structuredContent"]["id"] == 99
    own = await tool(gw, tokens["bravo"], "widgets__list_widgets", {"page_size": 100})
    assert {w["company_id"] for w in own["structuredContent"]["items"]} == {2}
    foreign = await tool(gw, tokens["bravo"], "widgets__get_widget", {"id": 1})
    assert foreign["isError"] is True and "not found" in foreign["content"][0]["text"]
    foreign_write = await tool(gw, tokens["bravo"], "widgets__add_note", {"id": 1, "text": "hi"})
    assert foreign_write["isError"] is True
    assert sum(1 for r in fake.requests if r.method == "POST") == 1
    assert KEY not in gw.log_text()
