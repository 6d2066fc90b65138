"""Every Pax8 tool, probed by a customer-bound identity and by another tenant: nothing of the other customer
(Acme's company, contacts, subscriptions, orders) reaches Globex's identity, no write reaches Pax8, and
nothing of tenant north reaches beta. Calls held for approval are approved first, so the probe reaches
the connector's own scoping rather than stopping at the approval stage.

The rows come from the connector (``VENDOR.tools``): a tool without a row in ``FOREIGN`` fails
``test_the_table_covers_every_tool``, so a new Pax8 tool cannot ship without its cross-customer probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from vendor_probe import verdict

from msplex.connectors.pax8 import VENDOR
from msplex.sandbox._pax8_seed import ACME, GLOBEX, pid
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.pax8 import Pax8Fake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord
from support.mcp_tools import VendorGateway, raw_call, vendor_gateway

WILE, SUB, USAGE_SUB = pid("contact:wile"), pid("subscription:0"), pid("subscription:3")
LINE = {"product_id": pid("product:duo-mfa"), "quantity": 1, "billing_term": "Monthly"}
CONTACT = {"first_name": "Eve", "last_name": "Probe", "email": "eve@example.com"}
FOREIGN: dict[str, dict[str, Any]] = {
    "list_companies": {},
    "get_company": {"company_id": ACME},
    "list_contacts": {"company_id": ACME},
    "get_contact": {"company_id": ACME, "contact_id": WILE},
    "create_contact": {"company_id": ACME, **CONTACT},
    "update_contact": {"contact_id": WILE, "phone": "555-0000"},
    "delete_contact": {"contact_id": WILE},
    "list_products": {},
    "get_product": {"product_id": LINE["product_id"]},
    "get_product_pricing": {"product_id": LINE["product_id"], "company_id": ACME},
    "list_orders": {"company_id": ACME},
    "get_order": {"order_id": pid("order:1")},
    "preview_order": {"company_id": ACME, "lines": [LINE]},
    "create_order": {"company_id": ACME, "lines": [{**LINE, "unit_price": 3.0}]},
    "list_subscriptions": {"company_id": ACME},
    "get_subscription": {"subscription_id": SUB},
    "get_subscription_history": {"subscription_id": SUB},
    "list_usage_summaries": {"subscription_id": USAGE_SUB},
    "list_usage_lines": {"usage_summary_id": pid(f"usage:{USAGE_SUB}")},
    "change_subscription_seats": {"subscription_id": SUB, "quantity": 1},
    "cancel_subscription": {"subscription_id": SUB},
    "list_invoices": {},
    "get_invoice": {"invoice_id": pid("invoice:2026-10")},
    "list_invoice_items": {"invoice_id": pid("invoice:2026-10"), "company_id": ACME},
}
LOOKUPS = {"list_products", "get_product"}
"""Pax8's product catalogue: no customer's data, anyone may read it."""
OWN_ONLY = {"list_companies"}


@pytest.fixture(scope="module")
def fake() -> Pax8Fake:
    return Pax8Fake()


@pytest.fixture(scope="module")
def pax8(fake: Pax8Fake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def matrix(pax8: Running, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VendorGateway]:
    def connector(tenant: str, slugs: dict[str, str]) -> ConnectorEntry:
        now = utcnow()
        record = ConnectorRecord(
            "conn-px", tenant, "px", "pax8", f"{pax8.url}/v1", None, {"client_id": "pax8-client"},
            ("client_secret",), {"acme": ACME, "globex": GLOBEX}, now, now, slugs,
        )  # fmt: skip
        return ConnectorEntry(record, {"client_secret": "pax8-secret"})

    opened = await vendor_gateway(tmp_path_factory.mktemp("pax8") / "store.db", "px", connector)
    yield opened
    await opened.close()


def _writes(fake: Pax8Fake) -> int:
    return sum(r.method in {"PUT", "DELETE"} or (r.method == "POST" and r.path != "/v1/token") for r in fake.requests)


def test_the_table_covers_every_tool() -> None:
    assert set(FOREIGN) == {t.name for t in VENDOR.tools}


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_a_customer_bound_identity_gets_nothing_of_another_customer(
    tool: str, matrix: VendorGateway, fake: Pax8Fake
) -> None:
    writes_before = _writes(fake)
    result = await matrix.call(f"px__{tool}", FOREIGN[tool], "mspx_globex")
    text = str(result)
    assert "Acme" not in text and "Wile" not in text and "Road" not in text
    assert _writes(fake) == writes_before
    verdict(tool, result, lookups=LOOKUPS, own_only=OWN_ONLY, owns=lambda item: item["id"] == GLOBEX)


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_another_tenant_can_neither_see_nor_reach_the_tools(
    tool: str, matrix: VendorGateway, fake: Pax8Fake
) -> None:
    before = len(fake.requests)
    own_endpoint = await raw_call(matrix.gw, f"px__{tool}", FOREIGN[tool], "mspx_beta", "beta")
    assert own_endpoint["error"]["message"] == f"Unknown tool: px__{tool}"
    north_endpoint = await raw_call(matrix.gw, f"px__{tool}", FOREIGN[tool], "mspx_beta", "north")
    assert "error" in north_endpoint and "result" not in north_endpoint
    assert len(fake.requests) == before
