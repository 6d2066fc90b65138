"""HaloPSA through the gateway, as a client uses it: the real edge, chain and catalogue (in process), an MCP
SDK client (2026-07-28), the connector instance ``halo`` of tenant ``north`` on the Halo fake at 127.0.0.1.

Tenant ``north`` (``support.mcp_tools.vendor_gateway``, a real store) has customers ``acme`` (Halo client 11)
and ``globex`` (client 12), mapped on the instance, and tokens for an admin, a member and each customer;
tenant ``beta`` has an admin and no connector. Client-visible and billable writes are held for approval
and approved by another person before they run. The fake counts token grants and records every request,
so each test asserts what reached Halo.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from msplex.connectors.halopsa import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.halopsa import Application, HaloFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, ItemRuleRecord
from support.inproc import InProcess
from support.mcp_tools import VendorGateway, client, ok, raw_call, refused, vendor_gateway

SECRET = "halo-gw-secret-31415926"


def _entry(url: str, tenant: str, slugs: dict[str, str], secret: str = SECRET) -> ConnectorEntry:
    now = utcnow()
    record = ConnectorRecord(
        "conn-halo", tenant, "halo", "halopsa", url, None,
        {"client_id": "halo-client", "tenant_name": "msplex", "scope": "all"}, ("client_secret",),
        {"acme": "11", "globex": "12"}, now, now, slugs,
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


async def _gateway(
    url: str, path: Path, *, secret: str = SECRET, rules: list[ItemRuleRecord] | None = None
) -> VendorGateway:
    return await vendor_gateway(
        path / "store.db", "halo", lambda tenant, slugs: _entry(url, tenant, slugs, secret), rules=rules
    )


@pytest.fixture
async def vg(halo_server: Running, tmp_path: Path) -> AsyncIterator[VendorGateway]:
    gateway = await _gateway(halo_server.url, tmp_path)
    yield gateway
    await gateway.close()


@pytest.fixture
def gw(vg: VendorGateway) -> InProcess:
    return vg.gw


async def _ok(mcp: Client, tool: str, args: dict[str, Any]) -> Any:
    return await ok(mcp, f"halo__{tool}", args)


async def _refused(mcp: Client, tool: str, args: dict[str, Any]) -> str:
    return await refused(mcp, f"halo__{tool}", args)


async def _held_ok(vg: VendorGateway, tool: str, args: dict[str, Any], token: str = "mspx_member") -> Any:
    """A client-visible or billable write: held, approved by another person, then run once."""
    return await vg.succeeded(f"halo__{tool}", args, token)


async def _held_refused(vg: VendorGateway, tool: str, args: dict[str, Any], token: str = "mspx_acme") -> str:
    return await vg.failed(f"halo__{tool}", args, token)


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


async def test_the_tools_are_off_until_enabled(halo_server: Running, fake: HaloFake, tmp_path: Path) -> None:
    gateway = await _gateway(halo_server.url, tmp_path, rules=[])
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
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


async def test_a_ticket_is_created_updated_and_noted(vg: VendorGateway, fake: HaloFake) -> None:
    create = {"summary": "Laptop will not boot", "client_id": 11, "user_id": 1001}
    held = (await raw_call(vg.gw, "halo__create_ticket", create, "mspx_member"))["result"]
    assert held["resultType"] == "input_required" and fake.api_requests("/api/Tickets") == []  # nothing ran yet
    ticket = await _held_ok(vg, "create_ticket", create)
    await _held_ok(vg, "update_ticket", {"id": ticket["id"], "status_id": 2, "agent_id": 2})
    await _held_ok(vg, "add_action", {"ticket_id": ticket["id"], "note": "Reseated the RAM", "time_taken": 0.5})
    async with client(vg.gw, "mspx_member") as mcp:
        await _ok(mcp, "add_action", {"ticket_id": ticket["id"], "note": "Ordered a disk"})  # internal: not held
        got = await _ok(mcp, "get_ticket", {"id": ticket["id"]})
    assert got["ticket"]["status_id"] == 2 and got["ticket"]["user_name"] == "Alice Archer"
    assert [a["note"] for a in got["actions"]] == ["Reseated the RAM", "Ordered a disk"]
    assert all(a["hiddenfromuser"] is True for a in got["actions"])
    assert fake.store["tickets"][ticket["id"]]["agent_id"] == 2
    posts = [r.path for r in fake.api_requests() if r.method == "POST"]  # each approved write ran exactly once
    assert posts == ["/api/Tickets", "/api/Tickets", "/api/Actions", "/api/Actions"]


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
    halo_server: Running, fake: HaloFake, tmp_path: Path
) -> None:
    gateway = await _gateway(halo_server.url, tmp_path, secret="revoked-secret-2718")
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            message = await _refused(mcp, "list_statuses", {})
        assert "rejected the client credentials" in message and "revoked-secret" not in message
        health = gateway.gw.gateway.health()[gateway.tenant]["halo"]
        assert health.state == "unhealthy" and "rejected the client credentials" in (health.error or "")
        fix = "msplex connect halopsa --tenant north --instance halo"
        assert fix in (health.fix or "") and fix in message  # the reason and, apart, what to run
    finally:
        await gateway.close()
    assert fake.api_requests() == []


async def test_a_customer_bound_identity_reads_only_its_clients_records(gw: InProcess, fake: HaloFake) -> None:
    async with client(gw, "mspx_globex") as mcp:
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
    vg: VendorGateway, fake: HaloFake
) -> None:
    # approved by another person first, so each probe reaches the connector's own scoping
    assert "not found" in await _held_refused(vg, "update_ticket", {"id": 6001, "status_id": 9})
    assert "not found" in await _held_refused(vg, "add_action", {"ticket_id": 6001, "note": "hi", "send_email": True})
    assert "not found" in await _held_refused(vg, "create_ticket", {"summary": "x", "client_id": 12})
    assert "not found" in await _held_refused(vg, "create_ticket", {"summary": "x", "site_id": 201})
    async with client(vg.gw, "mspx_acme") as mcp:
        assert "not found" in await _refused(mcp, "update_ticket", {"id": 6001, "agent_id": 2})  # not held
        own = await _ok(mcp, "add_action", {"ticket_id": 5001, "note": "Our own ticket"})
    assert own["ticket_id"] == 5001
    posts = [r for r in fake.api_requests() if r.method == "POST"]
    assert [r.path for r in posts] == ["/api/Actions"] and posts[0].body[0]["ticket_id"] == 5001
    assert fake.store["tickets"][6001]["status_id"] != 9
