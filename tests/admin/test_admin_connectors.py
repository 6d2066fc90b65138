"""The admin API's connector routes: connect (validated live), list, map, discover, remove; secrets write-only."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors" / "framework"))

from widgets_vendor import KEY, registered, served

from support.admin import BASE, Admin


@pytest.fixture(autouse=True)
def widgets_registered() -> Iterator[None]:
    with registered():
        yield


@pytest.fixture
async def fake() -> AsyncIterator[str]:
    async with served() as (_, url):
        yield url


async def test_connect_map_discover_and_remove_through_the_api(admin: Admin, fake: str) -> None:
    admin.app.settings.upstream_allow_private = True  # the fake is on 127.0.0.1
    owner = await admin.tenant_admin("acme")
    scope = admin.store.tenant("acme")
    await scope.create_customer("contoso", "Contoso")
    base = f"{BASE}/tenants/acme/connectors"
    bad = await admin.call("PUT", f"{base}/widgets", owner, json={"kind": "widgets", "base_url": fake,
                                                                "secrets": {"api_key": "wk-nope-1234"}})  # fmt: skip
    assert bad.status_code == 422 and "rejected the connector's credentials" in bad.json()["detail"]
    assert "wk-nope-1234" not in bad.text
    made = await admin.call(
        "PUT", f"{base}/widgets", owner, json={"kind": "widgets", "base_url": fake, "secrets": {"api_key": KEY},
                                              "enable": "read-only"},
    )  # fmt: skip
    assert made.status_code == 200, made.text
    assert made.json()["secret_fields"] == ["api_key"] and KEY not in made.text
    assert "widgets__get_widget" in made.json()["tools"]
    rules = {r.pattern for r in await scope.list_rules()}
    assert rules == {"widgets__list_widgets", "widgets__get_widget"}
    listed = await admin.call("GET", base, owner)
    assert [c["name"] for c in listed.json()] == ["widgets"] and KEY not in listed.text
    proposals = await admin.call("POST", f"{base}/widgets/discover", owner, json={"apply": True})
    assert proposals.status_code == 200 and proposals.json()[0]["vendor_id"] == "1"
    assert (await admin.call("GET", f"{base}/widgets", owner)).json()["customers"] == {"contoso": "1"}
    remapped = await admin.call("PUT", f"{base}/widgets/customers/contoso", owner, json={"vendor_id": "2"})
    assert remapped.json()["customers"] == {"contoso": "2"}
    assert (await admin.call("DELETE", f"{base}/widgets/customers/contoso", owner)).status_code == 204
    assert (await admin.call("DELETE", f"{base}/widgets", owner)).status_code == 204
    assert (await admin.call("GET", f"{base}/widgets", owner)).status_code == 404


async def test_a_tenant_cannot_aim_credentials_at_a_private_address(admin: Admin) -> None:
    owner = await admin.tenant_admin("acme")
    refused = await admin.call(
        "PUT", f"{BASE}/tenants/acme/connectors/widgets", owner,
        json={"kind": "widgets", "base_url": "http://127.0.0.1:9", "secrets": {"api_key": KEY}},
    )  # fmt: skip
    assert refused.status_code == 422 and refused.json()["field"] == "base_url"
