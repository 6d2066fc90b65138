"""Every HaloPSA tool, probed by a customer-bound identity and by another tenant: nothing of the other customer
(acme, Halo client 11 "Contoso Ltd") reaches globex's identity (client 12), no write reaches Halo, and
nothing of tenant north reaches beta. Calls held for approval are approved first, so the probe reaches
the connector's own scoping rather than stopping at the approval stage.

The rows come from the connector (``VENDOR.tools``): a tool without a row in ``FOREIGN`` fails
``test_the_table_covers_every_tool``, so a new Halo tool cannot ship without its cross-customer probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from vendor_probe import verdict

from msplex.connectors.halopsa import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.halopsa import HaloFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord
from support.mcp_tools import VendorGateway, raw_call, vendor_gateway

RANGE = {"start_date": "2026-01-01", "end_date": "2026-12-31"}

# Per tool, arguments that name Contoso's records (or, where a tool names none, the widest read).
FOREIGN: dict[str, dict[str, Any]] = {
    "search_tickets": {"client_id": 11},
    "get_ticket": {"id": 5001},
    "create_ticket": {"summary": "probe", "client_id": 11},
    "update_ticket": {"id": 5001, "summary": "probe"},
    "add_action": {"ticket_id": 5001, "note": "probe", "hidden_from_user": False},
    "list_statuses": {},
    "list_ticket_types": {},
    "list_categories": {},
    "list_outcomes": {},
    "list_agents": {},
    "list_clients": {"search": "Contoso"},
    "get_client": {"id": 11},
    "list_sites": {"client_id": 11},
    "list_users": {"client_id": 11},
    "get_user": {"id": 1001},
    "list_assets": {"client_id": 11},
    "get_asset": {"id": 3001},
    "search_kb": {},
    "get_kb_article": {"id": 1},
    "list_time_entries": {"client_id": 11, **RANGE},
    "get_timesheet": {"agent_id": 1, **RANGE},
    "list_contracts": {"client_id": 11},
    "get_contract": {"id": 7001},
    "list_invoices": {"client_id": 11},
    "get_invoice": {"id": 8001},
}
LOOKUPS = {"list_statuses", "list_ticket_types", "list_categories", "list_outcomes", "list_agents"}
"""The MSP's own configuration (no customer's data): every caller may read it."""


@pytest.fixture(scope="module")
def fake() -> HaloFake:
    return HaloFake()


@pytest.fixture(scope="module")
def halo(fake: HaloFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def matrix(halo: Running, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VendorGateway]:
    def connector(tenant: str, slugs: dict[str, str]) -> ConnectorEntry:
        now = utcnow()
        record = ConnectorRecord(
            "conn-halo", tenant, "halo", "halopsa", halo.url, None,
            {"client_id": "halo-client", "tenant_name": "msplex"}, ("client_secret",),
            {"acme": "11", "globex": "12"}, now, now, slugs,
        )  # fmt: skip
        return ConnectorEntry(record, {"client_secret": "halo-secret"})

    opened = await vendor_gateway(tmp_path_factory.mktemp("halopsa") / "store.db", "halo", connector)
    yield opened
    await opened.close()


def test_the_table_covers_every_tool() -> None:
    assert set(FOREIGN) == {t.name for t in VENDOR.tools}


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_a_customer_bound_identity_gets_nothing_of_another_customer(
    tool: str, matrix: VendorGateway, fake: HaloFake
) -> None:
    posts_before = sum(r.method == "POST" for r in fake.api_requests())
    result = await matrix.call(f"halo__{tool}", FOREIGN[tool], "mspx_globex")
    text = str(result)
    assert "Contoso" not in text and "contoso" not in text
    assert sum(r.method == "POST" for r in fake.api_requests()) == posts_before
    verdict(tool, result, lookups=LOOKUPS, own_only={"list_clients"}, owns=lambda item: item["id"] == 12)
    if tool == "list_clients":  # its own client only, and the search does not match it
        assert result["structuredContent"]["items"] == []


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_another_tenant_can_neither_see_nor_reach_the_tools(
    tool: str, matrix: VendorGateway, fake: HaloFake
) -> None:
    before = len(fake.requests)
    own_endpoint = await raw_call(matrix.gw, f"halo__{tool}", FOREIGN[tool], "mspx_beta", "beta")
    assert own_endpoint["error"]["message"] == f"Unknown tool: halo__{tool}"
    north_endpoint = await raw_call(matrix.gw, f"halo__{tool}", FOREIGN[tool], "mspx_beta", "north")
    assert "error" in north_endpoint and "result" not in north_endpoint
    assert len(fake.requests) == before
