"""Pax8 through the gateway, as a client uses it: the real edge, chain and catalogue (in process), an MCP SDK
client (2026-07-28), the connector instance ``px`` of tenant ``north`` on the Pax8 fake at 127.0.0.1.

Tenant ``north`` has customers ``acme`` and ``globex`` (the fake's two companies), mapped on the
instance, and tokens for an admin, a member and each customer; tenant ``beta`` has an admin and no
connector. The fake records every request, so each test asserts what reached Pax8.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from msplex.connectors.framework import InstanceConfig, VendorInstance
from msplex.connectors.pax8 import VENDOR
from msplex.sandbox._pax8_seed import ACME, GLOBEX, pid
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.pax8 import Pax8Fake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, ItemRuleRecord
from msplex.vault import build_auth
from support.inproc import InProcess
from support.mcp_tools import VendorGateway, client, ok, raw_call, refused, vendor_gateway

SECRET = "pax8-secret"
BASIC, PREMIUM = pid("product:m365-basic"), pid("product:m365-premium")
ACME_SUB = pid("subscription:0")


def entry(url: str, tenant: str, slugs: dict[str, str], secret: str = SECRET) -> ConnectorEntry:
    now = utcnow()
    record = ConnectorRecord(
        "conn-px", tenant, "px", "pax8", f"{url}/v1", None, {"client_id": "pax8-client"}, ("client_secret",),
        {"acme": ACME, "globex": GLOBEX}, now, now, slugs,
    )  # fmt: skip
    return ConnectorEntry(record, {"client_secret": secret})


@pytest.fixture
def fake() -> Pax8Fake:
    return Pax8Fake()


@pytest.fixture
def pax8(fake: Pax8Fake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


async def _gateway(
    url: str, path: Path, *, secret: str = SECRET, rules: list[ItemRuleRecord] | None = None
) -> VendorGateway:
    return await vendor_gateway(
        path / "store.db", "px", lambda tenant, slugs: entry(url, tenant, slugs, secret), rules=rules
    )


@pytest.fixture
async def vg(pax8: Running, tmp_path: Path) -> AsyncIterator[VendorGateway]:
    gateway = await _gateway(pax8.url, tmp_path)
    yield gateway
    await gateway.close()


@pytest.fixture
def gw(vg: VendorGateway) -> InProcess:
    return vg.gw


def _writes(fake: Pax8Fake) -> list[str]:
    return [
        f"{r.method} {r.path}" for r in fake.requests if r.method in {"POST", "PUT", "DELETE"} and r.path != "/v1/token"
    ]


async def test_the_tools_are_listed_under_the_instance_with_hints_and_effects(gw: InProcess) -> None:
    async with client(gw, "mspx_member") as mcp:
        listed = {t.name: t for t in (await mcp.list_tools()).tools}
    assert set(listed) == {f"px__{t.name}" for t in VENDOR.tools} and len(listed) == 24
    order = listed["px__create_order"]
    assert order.annotations is not None and order.annotations.destructive_hint is True
    assert order.meta is not None and order.meta["msplex/effects"] == {"billable": {"always": True}}
    preview = listed["px__preview_order"]
    assert preview.annotations is not None and preview.annotations.read_only_hint is True
    assert preview.meta is not None and preview.meta["msplex/effects"] == {}
    seats = listed["px__change_subscription_seats"]
    assert seats.annotations is not None and seats.annotations.destructive_hint is True
    assert seats.meta is not None and "billable" in seats.meta["msplex/effects"]
    async with client(gw, "mspx_beta", "beta") as other:
        assert (await other.list_tools()).tools == []


async def test_the_tools_are_off_until_enabled(pax8: Running, fake: Pax8Fake, tmp_path: Path) -> None:
    gateway = await _gateway(pax8.url, tmp_path, rules=[])
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            assert (await mcp.list_tools()).tools == []
            with pytest.raises(Exception, match="Unknown tool"):
                await mcp.call_tool("px__list_companies", {})
    finally:
        await gateway.close()
    assert fake.requests == []


async def test_listing_pages_past_the_first_page(gw: InProcess, fake: Pax8Fake) -> None:
    async with client(gw, "mspx_member") as mcp:
        first = await ok(mcp, "px__list_subscriptions", {"page_size": 10})
        assert first["has_more"] is True and first["next_page"] == 2 and first["total"] == 12
        second = await ok(mcp, "px__list_subscriptions", {"page_size": 10, "page": 2})
    assert len(first["items"]) == 10 and len(second["items"]) == 2 and second["has_more"] is False
    assert len({s["id"] for s in first["items"] + second["items"]}) == 12
    sent = fake.recorded("/v1/subscriptions")
    assert [(r.param("page"), r.param("size")) for r in sent] == [("0", "10"), ("1", "10")]
    token = fake.recorded("/v1/token")
    assert len(token) == 1 and token[0].header("content-type") == "application/json"


async def test_a_contact_is_created_and_updated(gw: InProcess, fake: Pax8Fake) -> None:
    async with client(gw, "mspx_member") as mcp:
        made = await ok(
            mcp, "px__create_contact",
            {"company_id": GLOBEX, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@globex.example",
             "types": ["Billing"]},
        )  # fmt: skip
        changed = await ok(
            mcp, "px__update_contact", {"company_id": GLOBEX, "contact_id": made["id"], "phone": "555-0142"}
        )
        listed = await ok(mcp, "px__list_contacts", {"company_id": GLOBEX})
    assert made["companyId"] == GLOBEX and changed["phone"] == "555-0142" and changed["email"] == "ada@globex.example"
    assert made["id"] in {c["id"] for c in listed["items"]}
    put = fake.recorded(method="PUT")[-1]
    assert put.body["firstName"] == "Ada" and put.body["phone"] == "555-0142"


async def test_pricing_is_read_live_on_every_call(gw: InProcess, fake: Pax8Fake) -> None:
    async with client(gw, "mspx_member") as mcp:
        before = await ok(mcp, "px__get_product_pricing", {"product_id": BASIC})
        fake.set_price(BASIC, 7.5)
        after = await ok(mcp, "px__get_product_pricing", {"product_id": BASIC})
    rate = {p["billingTerm"]: p["rates"][0]["partnerBuyRate"] for p in after["items"]}
    assert before["items"][0]["rates"][0]["partnerBuyRate"] == 6.0 and rate["Monthly"] == 7.5
    assert len(fake.recorded(f"/products/{BASIC}/pricing")) == 2


async def test_a_429_is_recovered_from(gw: InProcess, fake: Pax8Fake) -> None:
    async with client(gw, "mspx_member") as mcp:
        await ok(mcp, "px__list_products", {})
        fake.throttle_next(1)
        products = await ok(mcp, "px__list_products", {})
    assert products["total"] == 5
    assert len(fake.recorded("/v1/products")) == 3  # one, then a 429 and its retry


async def test_an_expired_token_is_renewed_once_for_twenty_concurrent_calls(gw: InProcess, fake: Pax8Fake) -> None:
    async with client(gw, "mspx_member") as mcp:
        await ok(mcp, "px__list_products", {})
        fake.expire_tokens()
        results = await asyncio.gather(*(mcp.call_tool("px__get_product", {"product_id": BASIC}) for _ in range(20)))
    assert all(not r.is_error for r in results)
    assert fake.tokens_issued == 2 and len(fake.recorded("/v1/token")) == 2


async def test_rejected_credentials_are_a_tool_error_and_an_unhealthy_instance(pax8: Running, tmp_path: Path) -> None:
    gateway = await _gateway(pax8.url, tmp_path, secret="revoked-secret-1618")
    try:
        async with client(gateway.gw, "mspx_admin") as mcp:
            message = await refused(mcp, "px__list_products", {})
        assert "rejected the client credentials" in message and "revoked-secret" not in message
        health = gateway.gw.gateway.health()[gateway.tenant]["px"]
        assert health.state == "unhealthy" and "rejected the client credentials" in (health.error or "")
        fix = "msplex connect pax8 --tenant north --instance px"
        assert fix in (health.fix or "") and fix in message  # the reason and, apart, what to run
    finally:
        await gateway.close()


async def test_a_customer_bound_identity_reads_only_its_companys_records(gw: InProcess, fake: Pax8Fake) -> None:
    async with client(gw, "mspx_globex") as mcp:
        companies = await ok(mcp, "px__list_companies", {})
        subs = await ok(mcp, "px__list_subscriptions", {"page_size": 100})
        orders = await ok(mcp, "px__list_orders", {})
        assert "not found" in await refused(mcp, "px__list_subscriptions", {"company_id": ACME})
        assert "not found" in await refused(mcp, "px__get_subscription", {"subscription_id": ACME_SUB})
        assert "not found" in await refused(mcp, "px__get_company", {"company_id": ACME})
        assert "not found" in await refused(mcp, "px__get_order", {"order_id": pid("order:1")})
        assert "not found" in await refused(
            mcp, "px__get_contact", {"contact_id": pid("contact:wile")}
        )  # Acme's contact, asked under Globex's own company
        assert "MSP's own" in await refused(mcp, "px__list_invoices", {})
        assert "MSP's own" in await refused(mcp, "px__get_product_pricing", {"product_id": BASIC})
    assert [c["name"] for c in companies["items"]] == ["Globex Ltd"]
    assert {s["companyId"] for s in subs["items"]} == {GLOBEX} and len(subs["items"]) == 3
    assert {o["companyId"] for o in orders["items"]} == {GLOBEX}
    assert {r.param("companyId") for r in fake.recorded("/v1/subscriptions")} == {GLOBEX}


async def test_a_customer_bound_identity_cannot_write_the_other_customers_records(
    gw: InProcess, fake: Pax8Fake
) -> None:
    contact = {"first_name": "Eve", "last_name": "Probe", "email": "eve@example.com"}
    async with client(gw, "mspx_globex") as mcp:
        assert "not found" in await refused(mcp, "px__create_contact", {"company_id": ACME, **contact})
        assert "not found" in await refused(
            mcp, "px__update_contact", {"company_id": ACME, "contact_id": pid("contact:wile"), "phone": "1"}
        )
        assert "not found" in await refused(
            mcp, "px__update_contact", {"contact_id": pid("contact:wile"), "phone": "1"}
        )
        own = await ok(mcp, "px__create_contact", contact)
    assert own["companyId"] == GLOBEX
    assert _writes(fake) == [f"POST /v1/companies/{GLOBEX}/contacts"]
    assert fake.store["contacts"][pid("contact:wile")]["phone"] == "555-0101"


# a billable order: previewed (dry run), held for approval, approved, placed after a live price check -------


ORDER_LINE = {"product_id": PREMIUM, "quantity": 3, "billing_term": "Monthly", "provisioning": {"tenantDomain": "g.io"}}


async def test_an_order_is_previewed_held_for_approval_and_placed_at_the_previewed_price(
    vg: VendorGateway, fake: Pax8Fake
) -> None:
    orders_before = len(fake.store["orders"])
    preview = await raw_call(vg.gw, "px__preview_order", {"company_id": GLOBEX, "lines": [ORDER_LINE]}, "mspx_member")
    shown = preview["result"]["structuredContent"]
    assert shown["dry_run"] is True and shown["total"] == 66.0 and shown["lines"][0]["unit_price"] == 22.0
    assert len(fake.store["orders"]) == orders_before and _writes(fake) == ["POST /v1/orders"]
    assert fake.recorded("/v1/orders", "POST")[0].param("isMock") == "true"

    args = {"company_id": GLOBEX, "lines": [{**ORDER_LINE, "unit_price": 22.0}]}
    placed = await vg.approved("px__create_order", args, "mspx_member")
    assert placed["isError"] is False, placed
    order = placed["structuredContent"]["order"]
    assert order["companyId"] == GLOBEX and order["id"] in fake.store["orders"]
    assert [r.param("isMock") for r in fake.recorded("/v1/orders", "POST")] == ["true", "true", None]


async def test_an_approved_order_whose_price_changed_is_not_placed(vg: VendorGateway, fake: Pax8Fake) -> None:
    fake.set_price(PREMIUM, 25.0)
    args = {"company_id": GLOBEX, "lines": [{**ORDER_LINE, "unit_price": 22.0}]}
    refused_order = await vg.approved("px__create_order", args, "mspx_member")
    assert refused_order["isError"] is True and "price changed from 22.0 to 25.0" in str(refused_order)
    assert fake.recorded("/v1/orders", "POST") == []


async def test_pax8s_error_envelope_reaches_the_model_with_its_details(gw: InProcess, fake: Pax8Fake) -> None:
    line = {"product_id": PREMIUM, "quantity": 2, "billing_term": "Monthly"}
    async with client(gw, "mspx_member") as mcp:
        message = await refused(mcp, "px__preview_order", {"company_id": GLOBEX, "lines": [line]})
        missing = await refused(mcp, "px__get_subscription", {"subscription_id": pid("nothing")})
    assert "refused the request (422)" in message and "provisioningDetails needs tenantDomain" in message
    assert missing == f"subscription {pid('nothing')} not found"


async def test_customer_discovery_reads_every_company(pax8: Running) -> None:
    config = InstanceConfig(f"{pax8.url}/v1", None, {"client_id": "pax8-client"})
    async with httpx.AsyncClient() as http:
        auth = build_auth(VENDOR, config, {"client_secret": SECRET}, http)
        assert VENDOR.companies is not None
        found = await VENDOR.companies(VendorInstance(VENDOR, config, auth, http, tenant="north").context())
    assert {(c.id, c.name) for c in found} == {(ACME, "Acme Corporation"), (GLOBEX, "Globex Ltd")}
