"""Every ConnectWise tool, probed by a customer-bound identity and by another tenant: nothing of the other customer
(Acme, Manage company 250) reaches Globex's identity, and nothing of tenant north reaches beta.

The rows come from the connector (``VENDOR.tools``): a tool without a row in ``FOREIGN`` fails
``test_the_table_covers_every_tool``, so a new ConnectWise tool cannot ship without its cross-customer probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from msplex.connectors.connectwise import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.connectwise import DEFAULT_CLIENT_ID, ConnectWiseFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord
from support.mcp_tools import VendorGateway, raw_call, vendor_gateway

WIDEN = 'summary contains "" or company/id=250'
"""A model's attempt to OR past the customer filter (it stays inside its parentheses)."""

# Per tool, arguments that name Acme's records (or, where a tool names none, the widest read).
FOREIGN: dict[str, dict[str, Any]] = {
    "search_tickets": {"company_id": 250},
    "get_ticket": {"id": 1000},
    "create_ticket": {"summary": "probe", "company_id": 250},
    "update_ticket": {"id": 1000, "status": "Closed"},
    "add_ticket_note": {"ticket_id": 1000, "text": "probe", "email_contact": True},
    "list_ticket_tasks": {"ticket_id": 1000},
    "add_ticket_task": {"ticket_id": 1000, "notes": "probe"},
    "list_companies": {"name_starts_with": "Acme"},
    "get_company": {"id": 250},
    "list_contacts": {"company_id": 250},
    "get_contact": {"id": 10},
    "list_sites": {"company_id": 250},
    "list_configurations": {"conditions": WIDEN.replace("summary", "name")},
    "get_configuration": {"id": 500},
    "list_boards": {},
    "list_board_statuses": {"board_id": 1},
    "list_board_types": {"board_id": 1},
    "list_priorities": {},
    "list_time_entries": {"ticket_id": 1000},
    "log_time": {"ticket_id": 1000, "start": "2026-11-30T08:00:00Z", "hours": 1},
    "correct_time_entry": {"id": 700, "hours": 8},
    "list_schedule_entries": {},
    "list_agreements": {"conditions": 'name contains "" or company/id=250'},
    "get_agreement": {"id": 300},
    "list_invoices": {"company_id": 250},
    "get_invoice": {"id": 900},
    "search_knowledge_base": {},
}
LOOKUPS = {"list_boards", "list_board_statuses", "list_board_types", "list_priorities"}
"""The MSP's own configuration (no customer's data): every caller may read it."""
OWN_ONLY = {"list_companies", "list_configurations", "list_agreements", "list_time_entries"}
"""Lists that answer, with the bound customer's own records only."""


@pytest.fixture(scope="module")
def fake() -> ConnectWiseFake:
    return ConnectWiseFake()


@pytest.fixture(scope="module")
def cw(fake: ConnectWiseFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def gw(cw: Running, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VendorGateway]:
    def connector(tenant: str, slugs: dict[str, str]) -> ConnectorEntry:
        now = utcnow()
        record = ConnectorRecord(
            "conn-cw", tenant, "cw", "connectwise", cw.url, None,
            {"company_id": "msplex", "public_key": "pubkey", "client_id": DEFAULT_CLIENT_ID}, ("private_key",),
            {"acme": "250", "globex": "251"}, now, now, slugs,
        )  # fmt: skip
        return ConnectorEntry(record, {"private_key": "privkey"})

    opened = await vendor_gateway(tmp_path_factory.mktemp("cw") / "store.db", "cw", connector)
    yield opened
    await opened.close()


def _writes(fake: ConnectWiseFake) -> int:
    return sum(r.method in {"POST", "PATCH", "PUT", "DELETE"} for r in fake.requests)


def test_the_table_covers_every_tool() -> None:
    assert set(FOREIGN) == {t.name for t in VENDOR.tools}


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_a_customer_bound_identity_gets_nothing_of_another_customer(
    tool: str, gw: VendorGateway, fake: ConnectWiseFake
) -> None:
    writes_before = _writes(fake)
    result = await gw.call(f"cw__{tool}", FOREIGN[tool], "mspx_globex")
    text = str(result)
    assert "Acme" not in text and "Wile" not in text and "'id': 250" not in text
    assert _writes(fake) == writes_before
    if tool in LOOKUPS:
        assert result["isError"] is False
    elif tool in OWN_ONLY:
        items = result["structuredContent"]["items"]
        assert result["isError"] is False and all((i.get("company") or i)["id"] == 251 for i in items)
    else:
        assert result["isError"] is True
        assert "not found" in text or "unavailable to a call bound to a customer" in text


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_another_tenant_can_neither_see_nor_reach_the_tools(
    tool: str, gw: VendorGateway, fake: ConnectWiseFake
) -> None:
    before = len(fake.requests)
    own_endpoint = await raw_call(gw.gw, f"cw__{tool}", FOREIGN[tool], "mspx_beta", "beta")
    assert own_endpoint["error"]["message"] == f"Unknown tool: cw__{tool}"
    acme_endpoint = await raw_call(gw.gw, f"cw__{tool}", FOREIGN[tool], "mspx_beta", "north")
    assert "error" in acme_endpoint and "result" not in acme_endpoint
    assert len(fake.requests) == before
