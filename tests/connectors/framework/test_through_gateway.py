"""A vendor connector through the real edge, chain and catalogue (in process) against its fake on 127.0.0.1:
listed as ``{instance}__{tool}`` with ``Target.vendor``, default off, customer-bound identities scoped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from widgets_vendor import KEY, Fake, registered, served

from msplex.store.models import utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord, CustomerRecord, ItemRuleRecord, TokenEntry
from support.inproc import InProcess, snapshot, start

MODERN = "2026-07-28"
T1, T2 = "t1", "t2"
ALPHA = CustomerRecord("c-a", T1, "alpha", "Contoso Ltd", utcnow())
BRAVO = CustomerRecord("c-b", T1, "bravo", "Fabrikam", utcnow())
CHARLIE = CustomerRecord("c-c", T1, "charlie", "Not mapped", utcnow())
TOKENS = {
    "mspx_admin": TokenEntry(T1, "k-admin", "admin"),
    "mspx_alpha": TokenEntry(T1, "k-alpha", "customer", customer_id=ALPHA.id),
    "mspx_bravo": TokenEntry(T1, "k-bravo", "customer", customer_id=BRAVO.id),
    "mspx_charlie": TokenEntry(T1, "k-charlie", "customer", customer_id=CHARLIE.id),
    "mspx_other": TokenEntry(T2, "k-other", "admin"),
}
EVERYONE = ("customer", "member", "admin")


def entry(url: str, key: str = KEY, customers: dict[str, str] | None = None) -> ConnectorEntry:
    now = utcnow()
    ids = {"alpha": ALPHA.id, "bravo": BRAVO.id}
    mapped = customers or {}
    slugs = {ids[slug]: slug for slug in mapped}
    record = ConnectorRecord("conn-1", T1, "widgets", "widgets", url, None, {}, ("api_key",), mapped, now, now, slugs)
    return ConnectorEntry(record, {"api_key": key})


@pytest.fixture(autouse=True)
def widgets_registered() -> Iterator[None]:
    with registered():
        yield


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, str]]:
    async with served() as pair:
        yield pair


async def gateway_for(url: str, rules: list[ItemRuleRecord] | None = None, key: str = KEY) -> InProcess:
    snap = snapshot(
        [(T1, "acme", False), (T2, "beta", False)],
        tokens=dict(TOKENS),
        customers=[ALPHA, BRAVO, CHARLIE],
        rules={T1: rules if rules is not None else [ItemRuleRecord("tool", "widgets__*", True, EVERYONE, 1)], T2: []},
        connectors={T1: [entry(url, key, {"alpha": "1", "bravo": "2"})]},
    )
    return await start(snap)


async def rpc(gw: InProcess, method: str, params: dict[str, Any] | None, token: str, tenant: str = "acme") -> Any:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**(params or {}), "_meta": meta}}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method, "Accept": "application/json"}
    if method == "tools/call":
        headers["Mcp-Name"] = (params or {})["name"]
    headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.edge), base_url="http://127.0.0.1") as http:
        response = await http.post(f"/mcp/v1/{tenant}", json=body, headers=headers)
    return response.json()


async def call(gw: InProcess, tool: str, args: dict[str, Any], token: str) -> Any:
    return (await rpc(gw, "tools/call", {"name": tool, "arguments": args}, token))["result"]


async def test_tools_are_listed_under_the_instance_with_the_vendor_kind(fake: tuple[Fake, str]) -> None:
    _, url = fake
    gw = await gateway_for(url)
    try:
        listed = (await rpc(gw, "tools/list", None, "mspx_admin"))["result"]["tools"]
        names = sorted(t["name"] for t in listed)
        assert names == ["widgets__add_note", "widgets__get_widget", "widgets__list_widgets"]
        note = next(t for t in listed if t["name"] == "widgets__add_note")
        assert note["annotations"]["readOnlyHint"] is False and "clientVisible" in note["_meta"]["msplex/effects"]
        catalogue = gw.gateway.catalogue(T1)
        assert catalogue is not None
        target = catalogue.current.tools["widgets__get_widget"]
        assert target.vendor == "widgets" and target.provider == "vendor" and target.instance == "widgets"
        assert (await rpc(gw, "tools/list", None, "mspx_other", "beta"))["result"]["tools"] == []
    finally:
        await gw.close()


async def test_vendor_tools_are_off_until_enabled(fake: tuple[Fake, str]) -> None:
    _, url = fake
    gw = await gateway_for(url, rules=[])
    try:
        assert (await rpc(gw, "tools/list", None, "mspx_admin"))["result"]["tools"] == []
        refused = await rpc(gw, "tools/call", {"name": "widgets__get_widget", "arguments": {"id": 1}}, "mspx_admin")
        assert "error" in refused
    finally:
        await gw.close()


async def test_a_customer_bound_identity_reaches_only_its_records(fake: tuple[Fake, str]) -> None:
    f, url = fake
    gw = await gateway_for(url)
    try:
        own = await call(gw, "widgets__list_widgets", {"page_size": 100}, "mspx_bravo")
        assert own["isError"] is False
        assert {w["company_id"] for w in own["structuredContent"]["items"]} == {2}
        foreign = await call(gw, "widgets__get_widget", {"id": 1}, "mspx_bravo")
        assert foreign["isError"] is True and "not found" in foreign["content"][0]["text"]
        write = await call(gw, "widgets__add_note", {"id": 1, "text": "hello"}, "mspx_bravo")
        assert write["isError"] is True
        assert not any(r.method == "POST" for r in f.requests)
        unmapped = await call(gw, "widgets__list_widgets", {}, "mspx_charlie")
        assert unmapped["isError"] is True and "msplex customer map" in unmapped["content"][0]["text"]
        admin = await call(gw, "widgets__get_widget", {"id": 1}, "mspx_admin")
        assert admin["isError"] is False and admin["structuredContent"]["password_redacted"] is True
    finally:
        await gw.close()


async def test_rejected_credentials_make_the_instance_unhealthy_with_the_fix(fake: tuple[Fake, str]) -> None:
    _, url = fake
    gw = await gateway_for(url, key="wk-revoked-key-999")
    try:
        result = await call(gw, "widgets__get_widget", {"id": 1}, "mspx_admin")
        assert result["isError"] is True and "wk-revoked-key-999" not in str(result)
        health = gw.gateway.health()[T1]["widgets"]
        assert health.state == "unhealthy"
        assert "msplex connect widgets --tenant acme --instance widgets" in (health.error or "")
    finally:
        await gw.close()


async def test_another_tenant_cannot_reach_the_connector(fake: tuple[Fake, str]) -> None:
    f, url = fake
    gw = await gateway_for(url)
    try:
        get = {"name": "widgets__get_widget", "arguments": {"id": 1}}
        own_endpoint = await rpc(gw, "tools/call", get, "mspx_other", "beta")
        absent = await rpc(gw, "tools/call", {**get, "name": "widgets__nope"}, "mspx_other", "beta")
        assert own_endpoint["error"]["code"] == absent["error"]["code"]
        assert own_endpoint["error"]["message"].replace("get_widget", "nope") == absent["error"]["message"]
        foreign = await rpc(gw, "tools/call", get, "mspx_other")
        assert "error" in foreign
        assert not f.requests  # nothing reached the vendor
    finally:
        await gw.close()


async def test_a_client_visible_write_needs_an_approval_by_default(fake: tuple[Fake, str]) -> None:
    f, url = fake
    gw = await gateway_for(url)
    try:
        public = {"name": "widgets__add_note", "arguments": {"id": 1, "text": "hello", "public": True}}
        held = await rpc(gw, "tools/call", public, "mspx_admin")
        assert "needs an approval" in held["error"]["message"]
        internal = await call(gw, "widgets__add_note", {"id": 1, "text": "hello"}, "mspx_admin")
        assert internal["isError"] is False
        assert [r.method for r in f.requests].count("POST") == 1  # only the internal note reached the vendor
    finally:
        await gw.close()
