"""Every NinjaOne tool, probed by a customer-bound identity and by another tenant: nothing of the other customer
(Acme, organization 1: its devices, alerts, tickets) reaches Globex's identity, no write or device action
reaches NinjaOne, and nothing of tenant north reaches beta. Calls held for approval are approved first, so
the probe reaches the connector's own scoping rather than stopping at the approval stage.

The rows come from the connector (``VENDOR.tools``): a tool without a row in ``FOREIGN`` fails
``test_the_table_covers_every_tool``, so a new NinjaOne tool cannot ship without its cross-customer probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from vendor_probe import verdict

from msplex.connectors.ninjaone import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.ninjaone import NinjaOneFake
from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord
from support.mcp_tools import VendorGateway, raw_call, vendor_gateway

ACME_ALERT = "7c1f0000-0000-4000-8000-000000000010"
FOREIGN: dict[str, dict[str, Any]] = {
    "list_organizations": {},
    "get_organization": {"organization_id": 1},
    "list_locations": {"organization_id": 1},
    "list_end_users": {"organization_id": 1},
    "list_devices": {"df": "org = 1"},
    "search_devices": {"query": "ACME"},
    "get_device": {"device_id": 1, "include": ["software", "patches", "disks", "health"]},
    "list_device_activities": {"device_id": 1},
    "list_alerts": {"device_id": 10},
    "reset_alert": {"alert_uid": ACME_ALERT},
    "list_ticket_boards": {},
    "list_tickets": {"organization_id": 1},
    "get_ticket": {"ticket_id": 100},
    "create_ticket": {"organization_id": 1, "subject": "probe", "description": "probe"},
    "update_ticket": {"ticket_id": 100, "status": "CLOSED"},
    "add_ticket_comment": {"ticket_id": 100, "body": "probe", "public": True},
    "reboot_device": {"device_id": 1, "mode": "FORCED"},
    "control_windows_service": {"device_id": 2, "service_name": "Spooler", "action": "stop"},
    "apply_os_patches": {"device_id": 3},
}
LOOKUPS = {"list_ticket_boards"}
"""The MSP's ticketing configuration (boards, statuses): no customer's data."""
OWN_ONLY = {"list_organizations", "list_devices", "search_devices"}


@pytest.fixture(scope="module")
def fake() -> NinjaOneFake:
    return NinjaOneFake()


@pytest.fixture(scope="module")
def ninja(fake: NinjaOneFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def matrix(ninja: Running, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VendorGateway]:
    def connector(tenant: str, slugs: dict[str, str]) -> ConnectorEntry:
        now = utcnow()
        record = ConnectorRecord(
            "conn-ninja", tenant, "ninja", "ninjaone", ninja.url, None, {"client_id": "ninja-client"},
            ("client_secret",), {"acme": "1", "globex": "2"}, now, now, slugs,
        )  # fmt: skip
        return ConnectorEntry(record, {"client_secret": "ninja-secret"})

    opened = await vendor_gateway(tmp_path_factory.mktemp("ninja") / "store.db", "ninja", connector)
    yield opened
    await opened.close()


def _writes(fake: NinjaOneFake) -> int:
    posts = {"POST", "PUT", "DELETE"}
    return sum(r.method in posts and not r.path.endswith(("/run", "/token")) for r in fake.requests) + len(fake.actions)


def test_the_table_covers_every_tool() -> None:
    assert set(FOREIGN) == {t.name for t in VENDOR.tools}


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_a_customer_bound_identity_gets_nothing_of_another_customer(
    tool: str, matrix: VendorGateway, fake: NinjaOneFake
) -> None:
    writes_before = _writes(fake)
    result = await matrix.call(f"ninja__{tool}", FOREIGN[tool], "mspx_globex")
    text = str(result)
    assert "Acme" not in text and "ACME-" not in text and "Wile" not in text
    assert _writes(fake) == writes_before
    verdict(
        tool, result, lookups=LOOKUPS, own_only=OWN_ONLY, owns=lambda item: item.get("organizationId", item["id"]) == 2
    )


@pytest.mark.parametrize("tool", sorted(FOREIGN))
async def test_another_tenant_can_neither_see_nor_reach_the_tools(
    tool: str, matrix: VendorGateway, fake: NinjaOneFake
) -> None:
    before = len(fake.requests)
    own_endpoint = await raw_call(matrix.gw, f"ninja__{tool}", FOREIGN[tool], "mspx_beta", "beta")
    assert own_endpoint["error"]["message"] == f"Unknown tool: ninja__{tool}"
    north_endpoint = await raw_call(matrix.gw, f"ninja__{tool}", FOREIGN[tool], "mspx_beta", "north")
    assert "error" in north_endpoint and "result" not in north_endpoint
    assert len(fake.requests) == before
