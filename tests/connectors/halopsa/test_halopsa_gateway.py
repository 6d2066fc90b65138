"""HaloPSA through the gateway, as a client uses it: the real edge, chain and catalogue (in process), an MCP
SDK client (2026-07-28), the connector instance ``halo`` of tenant ``acme`` on the Halo fake at 127.0.0.1.

Tenant ``acme`` has customers ``contoso`` (Halo client 11) and ``fabrikam`` (client 12), mapped on the
instance, and tokens for an admin, a member and each customer; tenant ``beta`` has an admin and no
connector. The fake counts token grants and records every request, so each test asserts what reached Halo.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from msplex.connectors.halopsa import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.halopsa import Application, HaloFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, CustomerRecord, ItemRuleRecord, TokenEntry
from support.inproc import InProcess, snapshot, start

SECRET = "halo-gw-secret-31415926"
ACME, BETA = "t-acme", "t-beta"
CONTOSO = CustomerRecord("cu-contoso", ACME, "contoso", "Contoso Ltd", utcnow())
FABRIKAM = CustomerRecord("cu-fabrikam", ACME, "fabrikam", "Fabrikam Inc", utcnow())
TOKENS = {
    "mspx_admin": TokenEntry(ACME, "k-admin", "admin"),
    "mspx_member": TokenEntry(ACME, "k-member", "member"),
    "mspx_contoso": TokenEntry(ACME, "k-contoso", "customer", customer_id=CONTOSO.id),
    "mspx_fabrikam": TokenEntry(ACME, "k-fabrikam", "customer", customer_id=FABRIKAM.id),
    "mspx_beta": TokenEntry(BETA, "k-beta", "admin"),
}
ENABLED = [ItemRuleRecord("tool", "halo__*", True, ("customer", "member", "admin"), 1)]


def _entry(url: str, secret: str) -> ConnectorEntry:
    now = utcnow()
    record = ConnectorRecord(
        "conn-halo", ACME, "halo", "halopsa", url, None,
        {"client_id": "halo-client", "tenant_name": "msplex", "scope": "all"}, ("client_secret",),
        {"contoso": "11", "fabrikam": "12"}, now, now, {CONTOSO.id: "contoso", FABRIKAM.id: "fabrikam"},
    )  # fmt: skip
    return ConnectorEntry(record, {"client_secret": secret})


@pytest.fixture
def fake() -> HaloFake:
    return HaloFake(applications=[Application("halo-client", SECRET)], retry_after=1)


@pytest.fixture
def halo_server(fake: HaloFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


async def _gateway(url: str, *, secret: str = SECRET, rules: list[ItemRuleRecord] | None = None) -> InProcess:
    snap = snapshot(
        [(ACME, "acme", False), (BETA, "beta", False)],
        tokens=dict(TOKENS),
        customers=[CONTOSO, FABRIKAM],
        rules={ACME: ENABLED if rules is None else rules, BETA: []},
        connectors={ACME: [_entry(url, secret)]},
    )
    return await start(snap, max_body_bytes=65536)


@pytest.fixture
async def gw(halo_server: Running) -> AsyncIterator[InProcess]:
    gateway = await _gateway(halo_server.url)
    yield gateway
    await gateway.close()


@contextlib.asynccontextmanager
async def client(gw: InProcess, token: str, tenant: str = "acme") -> AsyncIterator[Client]:
    """A real MCP SDK client over the in-process edge (ASGI), in the stateless 2026-07-28 era."""
    transport = httpx2.ASGITransport(app=gw.edge)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1/mcp/v1/{tenant}"
    async with (
        httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode="2026-07-28") as mcp,  # type: ignore[arg-type]
    ):
        yield mcp


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def _ok(mcp: Client, tool: str, args: dict[str, Any]) -> Any:
    result = await mcp.call_tool(f"halo__{tool}", args)
    assert not result.is_error, _text(result)
    return result.structured_content


async def _refused(mcp: Client, tool: str, args: dict[str, Any]) -> str:
    result = await mcp.call_tool(f"halo__{tool}", args)
    assert result.is_error, result
    return _text(result)


async def test_the_tools_are_listed_under_the_instance_with_hints_and_effects(gw: InProcess) -> None:
    async with client(gw, "mspx_member") as mcp:
        listed = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(listed) == {f"halo__{t.name}" for t in VENDOR.tools} and len(listed) == 25
    action = listed["halo__add_action"]
    assert action.annotations is not None and action.annotations.read_only_hint is False
    assert action.annotations.destructive_hint is False and action.annotations.open_world_hint is True
    assert action.meta is not None and set(action.meta["msplex/effects"]) == {"clientVisible", "billable"}
    search = listed["halo__search_tickets"]
    assert search.annotations is not None and search.annotations.read_only_hint is True
    assert search.output_schema is not None and "has_more" in search.output_schema["properties"]
    async with client(gw, "mspx_beta", "beta") as other:
        assert (await other.list_tools()).tools == []


async def test_the_tools_are_off_until_enabled(halo_server: Running, fake: HaloFake) -> None:
    gateway = await _gateway(halo_server.url, rules=[])
    try:
        async with client(gateway, "mspx_admin") as mcp:
            assert (await mcp.list_tools()).tools == []
            with pytest.raises(Exception, match="Unknown tool"):
                await mcp.call_tool("halo__search_tickets", {})
    finally:
        await gateway.close()
    assert fake.requests == []


async def test_listing_pages_past_the_first_page(gw: InProcess, fake: HaloFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        first = await _ok(mcp, "search_tickets", {"client_id": 11, "page_size": 50})
        assert first["has_more"] is True and first["next_page"] == 2 and "page=2" in first["note"]
        second = await _ok(mcp, "search_tickets", {"client_id": 11, "page_size": 50, "page": 2})
    assert len(first["items"]) + len(second["items"]) == 60 and second["has_more"] is False
    assert [r.param("page_no") for r in fake.api_requests("/api/Tickets")] == ["1", "2"]


async def test_a_ticket_is_created_updated_and_noted(gw: InProcess, fake: HaloFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        ticket = await _ok(mcp, "create_ticket", {"summary": "Laptop will not boot", "client_id": 11, "user_id": 1001})
        await _ok(mcp, "update_ticket", {"id": ticket["id"], "status_id": 2, "agent_id": 2})
        await _ok(mcp, "add_action", {"ticket_id": ticket["id"], "note": "Reseated the RAM", "time_taken": 0.5})
        got = await _ok(mcp, "get_ticket", {"id": ticket["id"]})
    assert got["ticket"]["status_id"] == 2 and got["ticket"]["user_name"] == "Alice Archer"
    assert [a["note"] for a in got["actions"]] == ["Reseated the RAM"] and got["actions"][0]["hiddenfromuser"] is True
    assert fake.store["tickets"][ticket["id"]]["agent_id"] == 2


async def test_a_429_is_recovered_from(gw: InProcess, fake: HaloFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        await _ok(mcp, "list_statuses", {})
        fake.throttle_next(1)
        statuses = await _ok(mcp, "list_statuses", {})
    assert statuses["total"] == 4
    assert len(fake.api_requests("/api/Status")) == 3  # one, then a 429 and its retry


async def test_an_expired_token_is_refreshed_exactly_once_under_20_concurrent_calls(
    gw: InProcess, fake: HaloFake
) -> None:
    async with client(gw, "mspx_member") as mcp:
        await _ok(mcp, "list_statuses", {})
        assert fake.tokens_issued == 1
        fake.expire_tokens()
        results = await asyncio.gather(*(mcp.call_tool("halo__get_ticket", {"id": 5001 + i}) for i in range(20)))
    assert [r.is_error for r in results] == [False] * 20
    assert fake.tokens_issued == 2


async def test_rejected_credentials_are_a_tool_error_and_an_unhealthy_instance(
    halo_server: Running, fake: HaloFake
) -> None:
    gateway = await _gateway(halo_server.url, secret="revoked-secret-2718")
    try:
        async with client(gateway, "mspx_admin") as mcp:
            message = await _refused(mcp, "list_statuses", {})
        assert "rejected the client credentials" in message and "revoked-secret" not in message
        health = gateway.gateway.health()[ACME]["halo"]
        assert health.state == "unhealthy" and "msplex connect halopsa --tenant acme" in (health.error or "")
    finally:
        await gateway.close()
    assert fake.api_requests() == []


async def test_a_customer_bound_identity_reads_only_its_clients_records(gw: InProcess, fake: HaloFake) -> None:
    async with client(gw, "mspx_fabrikam") as mcp:
        tickets = await _ok(mcp, "search_tickets", {"page_size": 100})
        assets = await _ok(mcp, "list_assets", {"page_size": 100})
        clients = await _ok(mcp, "list_clients", {})
        assert "not found" in await _refused(mcp, "search_tickets", {"client_id": 11})
        assert "not found" in await _refused(mcp, "get_ticket", {"id": 5001})
        assert "not found" in await _refused(mcp, "get_asset", {"id": 3001})
        assert "not found" in await _refused(mcp, "get_invoice", {"id": 8001})
    assert {t["client_id"] for t in tickets["items"]} == {12} and tickets["total"] == 7
    assert {a["client_id"] for a in assets["items"]} == {12}
    assert [c["name"] for c in clients["items"]] == ["Fabrikam Inc"]
    assert {r.param("client_id") for r in fake.api_requests("/api/Tickets")} == {"12"}


async def test_a_customer_bound_identity_cannot_write_the_other_customers_records(
    gw: InProcess, fake: HaloFake
) -> None:
    async with client(gw, "mspx_contoso") as mcp:
        assert "not found" in await _refused(mcp, "update_ticket", {"id": 6001, "status_id": 9})
        assert "not found" in await _refused(mcp, "add_action", {"ticket_id": 6001, "note": "hi", "send_email": True})
        assert "not found" in await _refused(mcp, "create_ticket", {"summary": "x", "client_id": 12})
        assert "not found" in await _refused(mcp, "create_ticket", {"summary": "x", "site_id": 201})
        own = await _ok(mcp, "add_action", {"ticket_id": 5001, "note": "Our own ticket"})
    assert own["ticket_id"] == 5001
    posts = [r for r in fake.api_requests() if r.method == "POST"]
    assert [r.path for r in posts] == ["/api/Actions"] and posts[0].body[0]["ticket_id"] == 5001
    assert fake.store["tickets"][6001]["status_id"] != 9
