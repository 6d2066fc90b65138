"""ConnectWise PSA through the gateway, as a client uses it: the real edge, chain and catalogue (in process), an
MCP SDK client (2026-07-28), the connector instance ``cw`` of tenant ``north`` on the Manage fake at 127.0.0.1.

Tenant ``north`` has customers ``acme`` (Manage company 250) and ``globex`` (company 251), mapped on the
instance, and tokens for an admin, a member and each customer; tenant ``beta`` has an admin and no
connector. The fake records every request, so each test asserts what reached Manage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from msplex.connectors.connectwise import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.connectwise import DEFAULT_CLIENT_ID, ApiMember, ConnectWiseFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, ItemRuleRecord
from support.inproc import InProcess
from support.mcp_tools import VendorGateway, client, ok, refused, vendor_gateway

PRIVATE = "cw-private-key-271828"
SETTINGS = {"company_id": "msplex", "public_key": "pubkey", "client_id": DEFAULT_CLIENT_ID}


def _entry(url: str, tenant: str, slugs: dict[str, str], private: str = PRIVATE) -> ConnectorEntry:
    now = utcnow()
    record = ConnectorRecord(
        "conn-cw", tenant, "cw", "connectwise", url, None, SETTINGS, ("private_key",),
        {"acme": "250", "globex": "251"}, now, now, slugs,
    )  # fmt: skip
    return ConnectorEntry(record, {"private_key": private})


@pytest.fixture
def fake() -> ConnectWiseFake:
    return ConnectWiseFake(members=[ApiMember("msplex", "pubkey", PRIVATE)], retry_after=0)


@pytest.fixture
def cw_server(fake: ConnectWiseFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


async def _gateway(
    url: str, path: Path, *, private: str = PRIVATE, rules: list[ItemRuleRecord] | None = None
) -> VendorGateway:
    return await vendor_gateway(
        path / "store.db", "cw", lambda tenant, slugs: _entry(url, tenant, slugs, private), rules=rules
    )


@pytest.fixture
async def vg(cw_server: Running, tmp_path: Path) -> AsyncIterator[VendorGateway]:
    gateway = await _gateway(cw_server.url, tmp_path)
    yield gateway
    await gateway.close()


@pytest.fixture
def gw(vg: VendorGateway) -> InProcess:
    return vg.gw


async def _ok(mcp: Client, tool: str, args: dict[str, Any]) -> Any:
    return await ok(mcp, f"cw__{tool}", args)


async def _refused(mcp: Client, tool: str, args: dict[str, Any]) -> str:
    return await refused(mcp, f"cw__{tool}", args)


async def _held_ok(vg: VendorGateway, tool: str, args: dict[str, Any], token: str = "mspx_member") -> Any:
    """A write whose arguments make it client-visible or billable: held, approved, then run."""
    return await vg.succeeded(f"cw__{tool}", args, token)


async def _held_refused(vg: VendorGateway, tool: str, args: dict[str, Any], token: str = "mspx_globex") -> str:
    return await vg.failed(f"cw__{tool}", args, token)


def _writes(fake: ConnectWiseFake) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method in {"POST", "PATCH", "PUT", "DELETE"}]


async def test_the_tools_are_listed_under_the_instance_with_hints_and_effects(gw: InProcess) -> None:
    async with client(gw, "mspx_member") as mcp:
        listed = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(listed) == {f"cw__{t.name}" for t in VENDOR.tools} and len(listed) == 27
    note = listed["cw__add_ticket_note"]
    assert note.annotations is not None and note.annotations.read_only_hint is False
    assert note.meta is not None and set(note.meta["msplex/effects"]) == {"clientVisible"}
    log_time = listed["cw__log_time"]
    assert log_time.meta is not None and set(log_time.meta["msplex/effects"]) == {"clientVisible", "billable"}
    search = listed["cw__search_tickets"]
    assert search.annotations is not None and search.annotations.read_only_hint is True
    assert search.output_schema is not None and "has_more" in search.output_schema["properties"]
    async with client(gw, "mspx_beta", "beta") as other:
        assert (await other.list_tools()).tools == []


async def test_the_tools_are_off_until_enabled(cw_server: Running, fake: ConnectWiseFake, tmp_path: Path) -> None:
    gateway = await _gateway(cw_server.url, tmp_path, rules=[])
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            assert (await mcp.list_tools()).tools == []
            with pytest.raises(Exception, match="Unknown tool"):
                await mcp.call_tool("cw__search_tickets", {})
    finally:
        await gateway.close()
    assert fake.requests == []


async def test_listing_pages_past_the_first_page(gw: InProcess, fake: ConnectWiseFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        first = await _ok(mcp, "search_tickets", {"company_id": 250})
        assert first["has_more"] is True and first["next_page"] == 2 and "page=2" in first["note"]
        second = await _ok(mcp, "search_tickets", {"company_id": 250, "page": 2})
    assert len(first["items"]) == 25 and len(second["items"]) == 5 and second["has_more"] is False
    ids = [t["id"] for t in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 30
    sent = fake.recorded("/service/tickets")
    assert [r.param("page") for r in sent] == ["1", "2"] and {r.param("conditions") for r in sent} == {
        "(company/id=250)"
    }
    assert all(r.header("clientid") == DEFAULT_CLIENT_ID for r in sent)


async def test_a_ticket_is_created_updated_noted_and_tasked(vg: VendorGateway, fake: ConnectWiseFake) -> None:
    async with client(vg.gw, "mspx_member") as mcp:
        ticket = await _held_ok(
            vg, "create_ticket", {"summary": "Laptop will not boot", "company_id": 250, "contact_id": 10}
        )
        assert ticket["status"]["name"] == "New" and ticket["company"]["id"] == 250
        updated = await _held_ok(vg, "update_ticket", {"id": ticket["id"], "status": "In Progress", "owner": "rroe"})
        assert updated["status"]["name"] == "In Progress" and updated["owner"]["identifier"] == "rroe"
        await _ok(mcp, "add_ticket_note", {"ticket_id": ticket["id"], "text": "Reseated the RAM"})
        await _ok(mcp, "add_ticket_task", {"ticket_id": ticket["id"], "notes": "Order a new battery"})
        got = await _ok(mcp, "get_ticket", {"id": ticket["id"]})
        tasks = await _ok(mcp, "list_ticket_tasks", {"ticket_id": ticket["id"]})
        wrong_contact = await _held_refused(
            vg, "create_ticket", {"summary": "x", "company_id": 250, "contact_id": 12}, "mspx_member"
        )
    assert [(n["text"], n["internalAnalysisFlag"]) for n in got["notes"]] == [("Reseated the RAM", True)]
    assert [t["notes"] for t in tasks["items"]] == ["Order a new battery"]
    assert "contact 12 not found" in wrong_contact
    patch = next(r for r in fake.requests if r.method == "PATCH")
    assert patch.body == [
        {"op": "replace", "path": "/status", "value": {"name": "In Progress"}},
        {"op": "replace", "path": "/owner", "value": {"identifier": "rroe"}},
    ]


async def test_time_is_logged_read_back_and_corrected(vg: VendorGateway, fake: ConnectWiseFake) -> None:
    log = {"ticket_id": 2000, "start": "2026-11-30T08:00:00Z", "hours": 1.5, "notes": "MX fix"}
    entry = await _held_ok(vg, "log_time", log)
    async with client(vg.gw, "mspx_member") as mcp:
        listed = await _ok(mcp, "list_time_entries", {"ticket_id": 2000})
    fixed = await _held_ok(vg, "correct_time_entry", {"id": entry["id"], "hours": 1.0})
    assert entry["company"]["id"] == 251 and entry["actualHours"] == 1.5
    assert entry["id"] in [e["id"] for e in listed["items"]]
    assert fixed["actualHours"] == 1.0 and fixed["timeEnd"] == "2026-11-30T09:00:00Z"


async def test_a_429_is_recovered_from(gw: InProcess, fake: ConnectWiseFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        await _ok(mcp, "list_priorities", {})
        fake.throttle_next(1)
        priorities = await _ok(mcp, "list_priorities", {})
    assert len(priorities["items"]) == 3
    assert len(fake.recorded("/service/priorities")) == 3  # one, then a 429 and its retry


async def test_a_malformed_condition_is_manages_message_not_a_crash(gw: InProcess) -> None:
    async with client(gw, "mspx_member") as mcp:
        message = await _refused(mcp, "search_tickets", {"conditions": "nosuchfield = 1"})
    assert "conditions is invalid" in message and "unknown field" in message


async def test_rejected_credentials_are_a_tool_error_and_an_unhealthy_instance(
    cw_server: Running, tmp_path: Path
) -> None:
    gateway = await _gateway(cw_server.url, tmp_path, private="revoked-private-1618")
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            message = await _refused(mcp, "list_priorities", {})
        assert "rejected the connector's credentials" in message and "revoked-private" not in message
        health = gateway.gw.gateway.health()[gateway.tenant]["cw"]
        assert health.state == "unhealthy" and "rejected the connector's credentials" in (health.error or "")
        fix = "msplex connect connectwise --tenant north --instance cw"
        assert fix in (health.fix or "") and fix in message  # the reason and, apart, what to run
    finally:
        await gateway.close()


async def test_a_customer_bound_identity_reads_only_its_companys_records(gw: InProcess, fake: ConnectWiseFake) -> None:
    async with client(gw, "mspx_globex") as mcp:
        tickets = await _ok(mcp, "search_tickets", {"page_size": 100})
        companies = await _ok(mcp, "list_companies", {})
        configurations = await _ok(mcp, "list_configurations", {})
        assert "not found" in await _refused(mcp, "search_tickets", {"company_id": 250})
        assert "not found" in await _refused(mcp, "get_ticket", {"id": 1000})
        assert "not found" in await _refused(mcp, "get_company", {"id": 250})
        assert "not found" in await _refused(mcp, "get_invoice", {"id": 900})
        assert "not found" in await _refused(mcp, "list_sites", {"company_id": 250})
        assert "MSP's own data" in await _refused(mcp, "search_knowledge_base", {})
    assert {t["company"]["id"] for t in tickets["items"]} == {251} and len(tickets["items"]) == 3
    assert [c["name"] for c in companies["items"]] == ['Globex "Intl" Ltd']
    assert {c["company"]["id"] for c in configurations["items"]} == {251}


@pytest.mark.parametrize(
    "args",
    [
        {"conditions": "company/id=250 or id > 0"},
        {"conditions": "(company/id=250) or (company/id=251)"},
        {"summary_contains": '") or company/id=250 or (summary="'},
        {"status": 'New") or (company/id=250'},
    ],
)
async def test_crafted_filters_cannot_widen_the_customer_filter(
    gw: InProcess, fake: ConnectWiseFake, args: dict[str, Any]
) -> None:
    async with client(gw, "mspx_globex") as mcp:
        found = await _ok(mcp, "search_tickets", {"page_size": 100, **args})
    assert {t["company"]["id"] for t in found["items"]} <= {251}
    sent = fake.recorded("/service/tickets")[-1].param("conditions") or ""
    assert sent.startswith("(company/id=251) and (")


@pytest.mark.parametrize(
    "conditions", ['summary = "x") or (company/id=250', 'summary = "unterminated', "company/id=250) or (id>0"]
)
async def test_conditions_that_would_escape_their_parentheses_are_refused_before_manage(
    gw: InProcess, fake: ConnectWiseFake, conditions: str
) -> None:
    async with client(gw, "mspx_globex") as mcp:
        message = await _refused(mcp, "search_tickets", {"conditions": conditions})
    assert message.startswith("conditions:")
    assert fake.recorded("/service/tickets") == []


async def test_a_customer_bound_identity_cannot_write_the_other_customers_records(
    vg: VendorGateway, fake: ConnectWiseFake
) -> None:
    async with client(vg.gw, "mspx_globex") as mcp:
        assert "not found" in await _held_refused(vg, "update_ticket", {"id": 1000, "status": "Closed"})
        assert "not found" in await _held_refused(vg, "add_ticket_note", {"ticket_id": 1000, "text": "hi"})
        assert "not found" in await _held_refused(vg, "add_ticket_task", {"ticket_id": 1000, "notes": "x"})
        assert "not found" in await _held_refused(vg, "create_ticket", {"summary": "x", "company_id": 250})
        assert "not found" in await _held_refused(vg, "create_ticket", {"summary": "x", "contact_id": 10})
        assert "not found" in await _held_refused(
            vg, "log_time", {"ticket_id": 1000, "start": "2026-11-30T08:00:00Z", "hours": 1}
        )
        assert "not found" in await _held_refused(vg, "correct_time_entry", {"id": 700, "hours": 9})
        own = await _ok(mcp, "add_ticket_note", {"ticket_id": 2000, "text": "Our own ticket"})
    assert own["ticketId"] == 2000
    assert _writes(fake) == ["POST /v4_6_release/apis/3.0/service/tickets/2000/notes"]
    assert fake.store["service/tickets"][1000]["status"]["name"] != "Closed"
