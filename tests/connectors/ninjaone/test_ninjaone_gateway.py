"""NinjaOne through the gateway, as a client uses it: the real edge, chain and catalogue (in process), an MCP SDK
client (2026-07-28), the connector instance ``ninja`` of tenant ``north`` on the NinjaOne fake at 127.0.0.1.

Tenant ``north`` has customers ``acme`` (organization 1: devices 1-52, tickets 100-129) and ``globex``
(organization 2: devices 53-60, tickets 200-202), mapped on the instance, and tokens for an admin, a
member and each customer; tenant ``beta`` has an admin and no connector.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from msplex.connectors.framework import InstanceConfig, VendorInstance
from msplex.connectors.ninjaone import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.ninjaone import NinjaOneFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, ItemRuleRecord
from msplex.vault import build_auth
from support.inproc import InProcess
from support.mcp_tools import VendorGateway, client, ok, refused, vendor_gateway

SECRET = "ninja-secret"
ACME_ALERT = "7c1f0000-0000-4000-8000-000000000010"


def entry(url: str, tenant: str, slugs: dict[str, str], secret: str = SECRET) -> ConnectorEntry:
    now = utcnow()
    record = ConnectorRecord(
        "conn-ninja", tenant, "ninja", "ninjaone", url, None, {"client_id": "ninja-client"}, ("client_secret",),
        {"acme": "1", "globex": "2"}, now, now, slugs,
    )  # fmt: skip
    return ConnectorEntry(record, {"client_secret": secret})


@pytest.fixture
def fake() -> NinjaOneFake:
    return NinjaOneFake(retry_after=0)


@pytest.fixture
def ninja(fake: NinjaOneFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


async def _gateway(
    url: str, path: Path, *, secret: str = SECRET, rules: list[ItemRuleRecord] | None = None
) -> VendorGateway:
    return await vendor_gateway(
        path / "store.db", "ninja", lambda tenant, slugs: entry(url, tenant, slugs, secret), rules=rules
    )


@pytest.fixture
async def vg(ninja: Running, tmp_path: Path) -> AsyncIterator[VendorGateway]:
    gateway = await _gateway(ninja.url, tmp_path)
    yield gateway
    await gateway.close()


@pytest.fixture
def gw(vg: VendorGateway) -> InProcess:
    return vg.gw


def _writes(fake: NinjaOneFake) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in fake.requests
        if r.method in {"POST", "PUT", "DELETE"} and r.path != "/ws/oauth/token" and not r.path.endswith("/run")
    ]


async def test_the_tools_are_listed_under_the_instance_with_hints_and_effects(gw: InProcess) -> None:
    async with client(gw, "mspx_member") as mcp:
        listed = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(listed) == {f"ninja__{t.name}" for t in VENDOR.tools} and len(listed) == 19
    reboot = listed["ninja__reboot_device"]
    assert reboot.annotations is not None and reboot.annotations.destructive_hint is True
    assert reboot.meta is not None and reboot.meta["msplex/effects"] == {"clientVisible": {"always": True}}
    comment = listed["ninja__add_ticket_comment"]
    assert comment.meta is not None and "clientVisible" in comment.meta["msplex/effects"]
    board = listed["ninja__list_tickets"]
    assert board.annotations is not None and board.annotations.read_only_hint is True
    devices = listed["ninja__list_devices"]
    assert devices.input_schema is not None and "AND" in devices.input_schema["properties"]["df"]["description"]
    async with client(gw, "mspx_beta", "beta") as other:
        assert (await other.list_tools()).tools == []


async def test_the_tools_are_off_until_enabled(ninja: Running, fake: NinjaOneFake, tmp_path: Path) -> None:
    gateway = await _gateway(ninja.url, tmp_path, rules=[])
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            assert (await mcp.list_tools()).tools == []
            with pytest.raises(Exception, match="Unknown tool"):
                await mcp.call_tool("ninja__list_devices", {})
    finally:
        await gateway.close()
    assert fake.requests == []


async def test_listing_pages_past_the_first_page_with_the_after_cursor(gw: InProcess, fake: NinjaOneFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        pages = [await ok(mcp, "ninja__list_devices", {"organization_id": 1})]
        while pages[-1]["has_more"]:
            assert "cursor=" in pages[-1]["note"]
            pages.append(
                await ok(mcp, "ninja__list_devices", {"organization_id": 1, "cursor": pages[-1]["next_cursor"]})
            )
    assert [len(p["items"]) for p in pages] == [25, 25, 2]
    assert [d["id"] for p in pages for d in p["items"]] == list(range(1, 53))
    sent = fake.recorded("/v2/devices")
    assert [(r.param("df"), r.param("pageSize"), r.param("after")) for r in sent] == [
        ("org = 1", "26", None), ("org = 1", "26", "25"), ("org = 1", "26", "50"),
    ]  # fmt: skip


async def test_a_ticket_is_created_updated_and_commented(vg: VendorGateway, fake: NinjaOneFake) -> None:
    async with client(vg.gw, "mspx_member") as mcp:
        made = await ok(
            mcp, "ninja__create_ticket",
            {"organization_id": 2, "subject": "Printer jammed", "description": "Tray 2", "device_id": 53},
        )  # fmt: skip
        reprioritised = await ok(mcp, "ninja__update_ticket", {"ticket_id": made["id"], "priority": "HIGH"})
        # a status change notifies the requester (client-visible): held until a person approves it
        held = await vg.call("ninja__update_ticket", {"ticket_id": made["id"], "status": "WAITING"}, "mspx_member")
        changed = held["structuredContent"]
        await ok(mcp, "ninja__add_ticket_comment", {"ticket_id": made["id"], "body": "Ordered a roller"})
        got = await ok(mcp, "ninja__get_ticket", {"ticket_id": made["id"]})
        wrong_device = await refused(
            mcp, "ninja__create_ticket", {"organization_id": 2, "subject": "x", "description": "y", "device_id": 1}
        )
    assert made["clientId"] == 2 and made["nodeId"] == 53 and made["description"]["public"] is False
    assert reprioritised["priority"] == "HIGH" and reprioritised["subject"] == "Printer jammed"
    assert changed["status"]["name"] == "WAITING" and changed["priority"] == "HIGH"
    assert [(e["body"], e["publicEntry"]) for e in got["log"]] == [("Ordered a roller", False)]
    assert "device 1 not found" in wrong_device
    comment = fake.recorded("/comment", "POST")[0]
    assert (comment.header("content-type") or "").startswith("multipart/form-data")


async def test_a_429_is_recovered_from(gw: InProcess, fake: NinjaOneFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        await ok(mcp, "ninja__list_ticket_boards", {})
        fake.throttle_next(1)
        boards = await ok(mcp, "ninja__list_ticket_boards", {})
    assert [b["name"] for b in boards["boards"]] == ["All tickets", "Open tickets"]
    assert len(fake.recorded("/v2/ticketing/trigger/boards")) == 3  # one, then a 429 and its retry


async def test_an_expired_token_is_renewed_once_for_twenty_concurrent_calls(gw: InProcess, fake: NinjaOneFake) -> None:
    async with client(gw, "mspx_member") as mcp:
        await ok(mcp, "ninja__get_organization", {"organization_id": 1})
        fake.expire_tokens()
        results = await asyncio.gather(*(mcp.call_tool("ninja__get_device", {"device_id": n}) for n in range(1, 21)))
    assert all(not r.is_error for r in results)
    assert fake.tokens_issued == 2
    token = fake.recorded("/ws/oauth/token")[-1]
    assert (token.header("content-type") or "").startswith("application/x-www-form-urlencoded")


async def test_rejected_credentials_are_a_tool_error_and_an_unhealthy_instance(ninja: Running, tmp_path: Path) -> None:
    gateway = await _gateway(ninja.url, tmp_path, secret="revoked-secret-2718")
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            message = await refused(mcp, "ninja__list_organizations", {})
        assert "rejected the client credentials" in message and "revoked-secret" not in message
        health = gateway.gw.gateway.health()[gateway.tenant]["ninja"]
        assert health.state == "unhealthy" and "rejected the client credentials" in (health.error or "")
        fix = "msplex connect ninjaone --tenant north --instance ninja"
        assert fix in (health.fix or "") and fix in message  # the reason and, apart, what to run
    finally:
        await gateway.close()


async def test_a_customer_bound_identity_reads_only_its_organizations_records(
    gw: InProcess, fake: NinjaOneFake
) -> None:
    async with client(gw, "mspx_globex") as mcp:
        orgs = await ok(mcp, "ninja__list_organizations", {})
        devices = await ok(mcp, "ninja__list_devices", {"page_size": 100})
        tickets = await ok(mcp, "ninja__list_tickets", {"page_size": 100})
        alerts = await ok(mcp, "ninja__list_alerts", {})
        found = await ok(mcp, "ninja__search_devices", {"query": "WS"})
        for tool, args in [
            ("get_device", {"device_id": 1}),
            ("get_ticket", {"ticket_id": 100}),
            ("get_organization", {"organization_id": 1}),
            ("list_locations", {"organization_id": 1}),
            ("list_devices", {"organization_id": 1}),
            ("list_device_activities", {"device_id": 1}),
            ("list_alerts", {"device_id": 10}),
        ]:
            assert "not found" in await refused(mcp, f"ninja__{tool}", args), tool
    assert [o["name"] for o in orgs["items"]] == ["Globex Ltd"]
    assert {d["organizationId"] for d in devices["items"]} == {2} and len(devices["items"]) == 8
    assert {t["clientId"] for t in tickets["items"]} == {2} and len(tickets["items"]) == 3
    assert {a["deviceId"] for a in alerts["items"]} <= set(range(53, 61)) and alerts["items"]
    assert {d["organizationId"] for d in found["items"]} == {2}


@pytest.mark.parametrize(
    "df", ["org = 1", "org in (1, 2)", "id in (1, 2, 3) AND online", "class in (WINDOWS_SERVER, MAC)", "loc = 10"]
)
async def test_a_df_filter_only_narrows_the_customers_devices(gw: InProcess, fake: NinjaOneFake, df: str) -> None:
    async with client(gw, "mspx_globex") as mcp:
        found = await ok(mcp, "ninja__list_devices", {"df": df, "page_size": 100})
    assert {d["organizationId"] for d in found["items"]} <= {2}
    assert (fake.recorded("/v2/devices")[-1].param("df") or "").startswith("org = 2 AND ")


@pytest.mark.parametrize(
    "df", ["org = 1 OR org = 2", "org = 2) OR (org = 1", "id > 0", "org = 1; DROP", "online or offline", "org=1,2"]
)
async def test_a_df_outside_the_grammar_is_refused_before_ninjaone(gw: InProcess, fake: NinjaOneFake, df: str) -> None:
    async with client(gw, "mspx_globex") as mcp:
        message = await refused(mcp, "ninja__list_devices", {"df": df})
    assert message.startswith("df:") and fake.recorded("/v2/devices") == []


async def test_a_customer_bound_identity_cannot_write_the_other_customers_records(
    vg: VendorGateway, fake: NinjaOneFake
) -> None:
    ticket = {"subject": "probe", "description": "probe"}
    async with client(vg.gw, "mspx_globex") as mcp:
        assert "not found" in await refused(mcp, "ninja__update_ticket", {"ticket_id": 100, "priority": "LOW"})
        closed = await vg.call("ninja__update_ticket", {"ticket_id": 100, "status": "CLOSED"}, "mspx_globex")
        assert closed["isError"] is True and "ticket 100 not found" in str(closed)
        assert "not found" in await refused(mcp, "ninja__add_ticket_comment", {"ticket_id": 100, "body": "hi"})
        assert "not found" in await refused(mcp, "ninja__create_ticket", {"organization_id": 1, **ticket})
        assert "not found" in await refused(mcp, "ninja__create_ticket", {"device_id": 1, **ticket})
        assert "not found" in await refused(mcp, "ninja__create_ticket", {"location_id": 10, **ticket})
        assert "not found" in await refused(mcp, "ninja__reset_alert", {"alert_uid": ACME_ALERT})
        own = await ok(mcp, "ninja__add_ticket_comment", {"ticket_id": 200, "body": "Our own ticket"})
    assert own["ticket_id"] == 200
    assert _writes(fake) == ["POST /v2/ticketing/ticket/200/comment"]
    assert fake.store["tickets"][100]["status"]["name"] != "CLOSED" and ACME_ALERT in fake.store["alerts"]


# device actions: destructive, held for a person's approval ------------------------------------------------


async def test_a_reboot_runs_only_once_approved(vg: VendorGateway, fake: NinjaOneFake) -> None:
    result = await vg.approved(
        "ninja__reboot_device", {"device_id": 53, "mode": "NORMAL", "reason": "patch"}, "mspx_member"
    )
    assert result["isError"] is False, result
    assert fake.actions == [
        {"kind": "reboot", "deviceId": 53, "params": {"did": 53, "mode": "NORMAL"}, "body": {"reason": "patch"}}
    ]


async def test_an_approved_action_on_another_customers_device_is_refused(vg: VendorGateway, fake: NinjaOneFake) -> None:
    for tool, args in [
        ("reboot_device", {"device_id": 1}),
        ("control_windows_service", {"device_id": 2, "service_name": "Spooler", "action": "stop"}),
        ("apply_os_patches", {"device_id": 3}),
    ]:
        result = await vg.approved(f"ninja__{tool}", args, "mspx_globex")
        assert result["isError"] is True and "not found" in orjson.dumps(result).decode(), tool
    assert fake.actions == []


async def test_ninjaones_error_body_reaches_the_model_with_its_incident(gw: InProcess) -> None:
    async with client(gw, "mspx_member") as mcp:
        message = await refused(mcp, "ninja__list_tickets", {"board_id": 99})
        missing = await refused(mcp, "ninja__get_device", {"device_id": 999})
    assert "Board 99 not found (incident " in message
    assert missing == "device 999 not found"


async def test_customer_discovery_reads_every_organization(ninja: Running) -> None:
    config = InstanceConfig(ninja.url, None, {"client_id": "ninja-client"})
    async with httpx.AsyncClient() as http:
        auth = build_auth(VENDOR, config, {"client_secret": SECRET}, http)
        assert VENDOR.companies is not None
        found = await VENDOR.companies(VendorInstance(VENDOR, config, auth, http, tenant="north").context())
    assert {(c.id, c.name) for c in found} == {("1", "Acme Corporation"), ("2", "Globex Ltd")}
