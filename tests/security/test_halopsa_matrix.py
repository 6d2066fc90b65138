"""Every HaloPSA tool, probed by a customer-bound identity and by another tenant: nothing of the other customer
(Contoso, Halo client 11) reaches Fabrikam's identity, and nothing of acme reaches beta.

The rows come from the connector (``VENDOR.tools``): a tool without a row in ``FOREIGN`` fails
``test_the_table_covers_every_tool``, so a new Halo tool cannot ship without its cross-customer probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from msplex.connectors.halopsa import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.halopsa import HaloFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, CustomerRecord, ItemRuleRecord, TokenEntry
from support.inproc import InProcess, snapshot, start

MODERN = "2026-07-28"
ACME, BETA = "t-acme", "t-beta"
CONTOSO = CustomerRecord("cu-contoso", ACME, "contoso", "Contoso Ltd", utcnow())
FABRIKAM = CustomerRecord("cu-fabrikam", ACME, "fabrikam", "Fabrikam Inc", utcnow())
TOKENS = {
    "mspx_fabrikam": TokenEntry(ACME, "k-fabrikam", "customer", customer_id=FABRIKAM.id),
    "mspx_beta": TokenEntry(BETA, "k-beta", "admin"),
}
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
async def gw(halo: Running) -> AsyncIterator[InProcess]:
    now = utcnow()
    record = ConnectorRecord(
        "conn-halo", ACME, "halo", "halopsa", halo.url, None, {"client_id": "halo-client", "tenant_name": "msplex"},
        ("client_secret",), {"contoso": "11", "fabrikam": "12"}, now, now,
        {CONTOSO.id: "contoso", FABRIKAM.id: "fabrikam"},
    )  # fmt: skip
    snap = snapshot(
        [(ACME, "acme", False), (BETA, "beta", False)],
        tokens=dict(TOKENS),
        customers=[CONTOSO, FABRIKAM],
        rules={ACME: [ItemRuleRecord("tool", "halo__*", True, ("customer", "member", "admin"), 1)], BETA: []},
        connectors={ACME: [ConnectorEntry(record, {"client_secret": "halo-secret"})]},
    )
    gateway = await start(snap, max_body_bytes=65536)
    yield gateway
    await gateway.close()


async def _call(gw: InProcess, tool: str, args: dict[str, Any], token: str, tenant: str = "acme") -> dict[str, Any]:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    params = {"name": tool, "arguments": args, "_meta": meta}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool,
               "Accept": "application/json", "Authorization": f"Bearer {token}"}  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.edge), base_url="http://127.0.0.1") as http:
        response = await http.post(f"/mcp/v1/{tenant}", json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                                               "params": params}, headers=headers)  # fmt: skip
    body: dict[str, Any] = response.json()
    return body


def test_the_table_covers_every_tool() -> None:
    assert set(FOREIGN) == {t.name for t in VENDOR.tools}


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_a_customer_bound_identity_gets_nothing_of_another_customer(
    tool: str, gw: InProcess, fake: HaloFake
) -> None:
    posts_before = sum(r.method == "POST" for r in fake.api_requests())
    result = (await _call(gw, f"halo__{tool}", FOREIGN[tool], "mspx_fabrikam"))["result"]
    text = str(result)
    assert "Contoso" not in text and "contoso" not in text
    assert sum(r.method == "POST" for r in fake.api_requests()) == posts_before
    if tool in LOOKUPS:
        assert result["isError"] is False
    elif tool == "list_clients":  # its own client only, and the search does not match it
        assert result["isError"] is False and result["structuredContent"]["items"] == []
    else:
        assert result["isError"] is True
        assert "not found" in text or "unavailable to a call bound to a customer" in text


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_another_tenant_can_neither_see_nor_reach_the_tools(tool: str, gw: InProcess, fake: HaloFake) -> None:
    before = len(fake.requests)
    own_endpoint = await _call(gw, f"halo__{tool}", FOREIGN[tool], "mspx_beta", "beta")
    assert own_endpoint["error"]["message"] == f"Unknown tool: halo__{tool}"
    acme_endpoint = await _call(gw, f"halo__{tool}", FOREIGN[tool], "mspx_beta", "acme")
    assert "error" in acme_endpoint and "result" not in acme_endpoint
    assert len(fake.requests) == before
