"""Who sees and may call which item: audiences, scoped tokens, entities, customers, OIDC identities.

The real edge, chain and catalogue run in this process over a snapshot built here, in front of
a real upstream process (the fixture's tools ``ev__echo``, ``ev__pid``, ...).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from msplex.identity.oidc import OidcProvider
from msplex.store.models import utcnow
from msplex.store.records import (
    CustomerRecord,
    EntityRecord,
    ItemRuleRecord,
    OidcProviderRecord,
    TokenEntry,
    UpstreamEntry,
)
from msplex.upstream import UpstreamSpec
from support.gateway import ServerProcess
from support.idp import Idp
from support.inproc import InProcess, snapshot, start

MODERN = "2026-07-28"
T1, T2 = "t1", "t2"
CUSTOMER_A = CustomerRecord("c-a", T1, "alpha", "Alpha Ltd", utcnow())
CUSTOMER_B = CustomerRecord("c-b", T1, "bravo", "Bravo Ltd", utcnow())
RULES = {
    T1: [
        ItemRuleRecord("tool", "ev__*", True, ("member", "admin"), 1),
        ItemRuleRecord("tool", "ev__echo", True, ("public", "customer", "member", "admin"), 2),
        ItemRuleRecord("tool", "ev__pid", True, ("admin",), 3),
        ItemRuleRecord("tool", "ev__crash", False, (), 4),
    ],
    T2: [ItemRuleRecord("tool", "*", True, ("member", "admin"), 1)],
}
TOKENS: dict[str, TokenEntry] = {
    "mspx_admin": TokenEntry(T1, "k-admin", "admin"),
    "mspx_member": TokenEntry(T1, "k-member", "member"),
    "mspx_narrow": TokenEntry(T1, "k-narrow", "member", tools=("ev__echo", "ev__env")),
    "mspx_alpha": TokenEntry(T1, "k-alpha", "customer", customer_id=CUSTOMER_A.id),
    "mspx_bravo": TokenEntry(T1, "k-bravo", "customer", customer_id=CUSTOMER_B.id),
    "mspx_expired": TokenEntry(T1, "k-old", "member", expires_at=time.time() - 5),
    "mspx_operator": TokenEntry(None, "k-op", None),
    "mspx_other": TokenEntry(T2, "k-other", "admin"),
}


def _entity(slug: str, **kw: Any) -> EntityRecord:
    fields: dict[str, Any] = {
        "id": f"e-{slug}", "tenant_id": T1, "slug": slug, "name": f"{slug.title()} Desk", "title": None,
        "description": None, "icon_url": None, "website_url": None, "support_url": None, "customer_id": None,
        "allow_anonymous": False, "tools": ("ev__echo", "ev__pid", "ev__env"), "created_at": utcnow(),
    }  # fmt: skip
    fields.update(kw)
    return EntityRecord(**fields)


ENTITIES = [
    _entity(
        "helpdesk",
        title="Acme Helpdesk",
        description="Tickets and devices for Acme's clients",
        icon_url="https://acme.example/icon.png",
        website_url="https://acme.example",
        support_url="https://acme.example/support",
        allow_anonymous=True,
    ),
    _entity("alpha-portal", customer_id=CUSTOMER_A.id),
]


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    server = ServerProcess.everything(tmp_path_factory.mktemp("who"), "--json").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idp() -> AsyncIterator[Idp]:
    with Idp() as provider:
        yield provider


@pytest.fixture
async def gateway(upstream: ServerProcess, idp: Idp) -> AsyncIterator[InProcess]:
    entries = {
        tid: [UpstreamEntry(f"u-{tid}", UpstreamSpec(tid, "ev", "http", url=upstream.url), True, utcnow())]
        for tid in (T1, T2)
    }
    oidc = [
        OidcProviderRecord(T2, idp.issuer, "tenant-two", idp.jwks_url, "msplex_customer", "groups", {"ops": "admin"})
    ]
    snap = snapshot(
        [(T1, "acme", False), (T2, "beta", False)],
        dict(TOKENS),
        entries,
        rules=RULES,
        customers=[CUSTOMER_A, CUSTOMER_B],
        entities=ENTITIES,
        oidc=oidc,
    )
    deployment = OidcProvider(issuer=idp.issuer, audience="msplex", jwks_url=idp.jwks_url)
    live = await start(snap, oidc=deployment)
    catalogue = live.gateway.catalogue(T1)
    assert catalogue is not None
    await catalogue.settle(10)
    yield live
    await live.close()


async def _post(gw: InProcess, path: str, method: str, params: dict | None, token: str | None) -> httpx.Response:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**(params or {}), "_meta": meta}}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method, "Accept": "application/json"}
    if method == "tools/call":
        headers["Mcp-Name"] = (params or {})["name"]
    if token:
        headers["Authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=gw.edge)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.post(path, json=body, headers=headers)


async def _tools(gw: InProcess, path: str, token: str | None) -> list[str]:
    response = await _post(gw, path, "tools/list", None, token)
    assert response.status_code == 200, response.text
    return sorted(t["name"] for t in response.json()["result"]["tools"])


EV_TOOLS = 37


async def test_each_audience_sees_what_the_rules_give_it(gateway: InProcess) -> None:
    admin = await _tools(gateway, "/mcp/v1/acme", "mspx_admin")
    member = await _tools(gateway, "/mcp/v1/acme", "mspx_member")
    customer = await _tools(gateway, "/mcp/v1/acme", "mspx_alpha")
    narrow = await _tools(gateway, "/mcp/v1/acme", "mspx_narrow")
    assert "ev__pid" in admin and "ev__crash" not in admin and len(admin) == EV_TOOLS - 1
    assert "ev__pid" not in member and len(member) == EV_TOOLS - 2
    assert customer == ["ev__echo"]
    assert narrow == ["ev__echo", "ev__env"]  # a token's patterns only narrow what its role allows


async def test_an_item_one_may_not_call_answers_exactly_like_an_absent_one(gateway: InProcess) -> None:
    forbidden = await _post(gateway, "/mcp/v1/acme", "tools/call", {"name": "ev__pid", "arguments": {}}, "mspx_member")
    absent = await _post(gateway, "/mcp/v1/acme", "tools/call", {"name": "ev__nope", "arguments": {}}, "mspx_member")
    disabled = await _post(gateway, "/mcp/v1/acme", "tools/call", {"name": "ev__crash", "arguments": {}}, "mspx_admin")
    allowed = await _post(gateway, "/mcp/v1/acme", "tools/call", {"name": "ev__pid", "arguments": {}}, "mspx_admin")
    assert allowed.status_code == 200 and allowed.json()["result"]["content"][0]["text"].isdigit()
    shapes = {(r.status_code, r.json()["error"]["code"]) for r in (forbidden, absent, disabled)}
    assert shapes == {(400, -32602)}
    assert forbidden.json()["error"]["message"].replace("ev__pid", "X") == absent.json()["error"]["message"].replace(
        "ev__nope", "X"
    )


async def test_anonymous_callers_and_missing_tenants_cannot_be_told_apart(gateway: InProcess) -> None:
    existing = await _post(gateway, "/mcp/v1/acme", "tools/list", None, None)
    missing = await _post(gateway, "/mcp/v1/no-such-msp", "tools/list", None, None)
    assert (existing.status_code, existing.json()) == (missing.status_code, missing.json())
    assert existing.status_code == 401
    foreign = await _post(gateway, "/mcp/v1/beta", "tools/list", None, "mspx_admin")
    nowhere = await _post(gateway, "/mcp/v1/no-such-msp", "tools/list", None, "mspx_admin")
    assert (foreign.status_code, foreign.json()) == (nowhere.status_code, nowhere.json()) and foreign.status_code == 403


async def test_rejected_tokens_say_why_in_the_challenge(gateway: InProcess) -> None:
    expired = await _post(gateway, "/mcp/v1/acme", "tools/list", None, "mspx_expired")
    unknown = await _post(gateway, "/mcp/v1/acme", "tools/list", None, "mspx_unknown")
    anonymous = await _post(gateway, "/mcp/v1/acme", "tools/list", None, None)
    operator = await _post(gateway, "/mcp/v1/acme", "tools/list", None, "mspx_operator")
    metadata = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp/v1/acme"
    for response, error, words in (
        (expired, "invalid_token", "expired"),
        (unknown, "invalid_token", "unknown or revoked"),
        (anonymous, "invalid_token", "msplex token create"),
        (operator, "insufficient_scope", "admin API"),
    ):
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata}"' in challenge
        assert f'error="{error}"' in challenge and words in challenge, challenge
        assert "mspx_" not in challenge
    assert (expired.status_code, operator.status_code) == (401, 403)


async def test_an_entity_endpoint_wears_its_brand_and_shows_its_selection(gateway: InProcess) -> None:
    discovered = (await _post(gateway, "/mcp/entities/helpdesk", "server/discover", None, "mspx_admin")).json()
    info = discovered["result"]["serverInfo"]
    assert info["name"] == "Helpdesk Desk" and info["title"] == "Acme Helpdesk"
    assert info["description"] == "Tickets and devices for Acme's clients"
    assert info["icons"] == [{"src": "https://acme.example/icon.png"}] and info["websiteUrl"] == "https://acme.example"
    assert "https://acme.example/support" in discovered["result"]["instructions"]
    assert await _tools(gateway, "/mcp/entities/helpdesk", "mspx_admin") == ["ev__echo", "ev__env", "ev__pid"]
    assert await _tools(gateway, "/mcp/entities/helpdesk", "mspx_member") == ["ev__echo", "ev__env"]
    assert await _tools(gateway, "/mcp/entities/helpdesk", None) == ["ev__echo"]  # public items only


async def test_a_customer_bound_entity_admits_only_that_customer(gateway: InProcess) -> None:
    assert await _tools(gateway, "/mcp/entities/alpha-portal", "mspx_alpha") == ["ev__echo"]
    for token in ("mspx_bravo", "mspx_admin"):
        refused = await _post(gateway, "/mcp/entities/alpha-portal", "tools/list", None, token)
        assert refused.status_code == 403, token
    anonymous = await _post(gateway, "/mcp/entities/alpha-portal", "tools/list", None, None)
    assert anonymous.status_code == 401
    foreign = await _post(gateway, "/mcp/entities/alpha-portal", "tools/list", None, "mspx_other")
    missing = await _post(gateway, "/mcp/entities/no-such", "tools/list", None, "mspx_other")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


async def test_oidc_identities_get_their_audience_from_claims(gateway: InProcess, idp: Idp) -> None:
    member = idp.mint({"msplex_tenant": "acme"})
    admin = idp.mint({"msplex_tenant": "acme", "roles": ["admin"]})
    customer = idp.mint({"msplex_tenant": "acme", "msplex_customer": "alpha"})
    assert len(await _tools(gateway, "/mcp/v1/acme", member)) == EV_TOOLS - 2
    assert "ev__pid" in await _tools(gateway, "/mcp/v1/acme", admin)
    assert await _tools(gateway, "/mcp", customer) == ["ev__echo"]  # /mcp: the tenant comes from the claim
    unknown_customer = await _post(
        gateway, "/mcp/v1/acme", "tools/list", None, idp.mint({"msplex_tenant": "acme", "msplex_customer": "zulu"})
    )
    assert unknown_customer.status_code == 401 and "customer claim" in unknown_customer.headers["www-authenticate"]


async def test_a_tenants_own_provider_vouches_only_for_that_tenant(gateway: InProcess, idp: Idp) -> None:
    ops = idp.mint({"groups": ["ops"], "aud": "tenant-two"})
    assert len(await _tools(gateway, "/mcp/v1/beta", ops)) == EV_TOOLS
    assert len(await _tools(gateway, "/mcp", ops)) == EV_TOOLS  # found by its issuer and audience
    elsewhere = await _post(gateway, "/mcp/v1/acme", "tools/list", None, ops)
    assert elsewhere.status_code == 401  # acme's endpoint does not accept tenant two's audience


@pytest.mark.parametrize(
    "bad",
    ["unsigned", "hs256_with_public_key", "forged", "expired", "not_yet_valid", "wrong_issuer", "wrong_audience"],
)
async def test_bad_jwts_are_refused_naming_the_check(gateway: InProcess, idp: Idp, bad: str) -> None:
    token = getattr(idp, bad)({"msplex_tenant": "acme"})
    response = await _post(gateway, "/mcp/v1/acme", "tools/list", None, token)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    signature = token.split(".")[-1]
    assert 'error="invalid_token"' in challenge and token not in challenge
    assert not signature or signature not in challenge


async def test_protected_resource_metadata_names_the_authorization_servers(gateway: InProcess, idp: Idp) -> None:
    transport = httpx.ASGITransport(app=gateway.edge)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        beta = (await http.get("/.well-known/oauth-protected-resource/mcp/v1/beta")).json()
        acme = (await http.get("/.well-known/oauth-protected-resource/mcp/v1/acme")).json()
        nowhere = (await http.get("/.well-known/oauth-protected-resource/mcp/v1/no-such-msp")).json()
        register = await http.post("/register", json={})
        as_metadata = await http.get("/.well-known/oauth-authorization-server")
    assert beta["resource"] == "http://127.0.0.1/mcp/v1/beta" and beta["authorization_servers"] == [idp.issuer]
    assert acme["authorization_servers"] == [idp.issuer]  # the deployment's provider serves every tenant
    assert nowhere["authorization_servers"] == [idp.issuer] and nowhere["bearer_methods_supported"] == ["header"]
    for response in (register, as_metadata):
        assert response.headers["content-type"] == "application/problem+json"
        assert "msplex token create" in response.json()["detail"]


async def test_each_rejected_credential_is_logged_once_and_never_shown(
    gateway: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="msplex.identity")
    for _ in range(3):
        await _post(gateway, "/mcp/v1/acme", "tools/list", None, "mspx_wrong-one")
    await _post(gateway, "/mcp/v1/acme", "tools/list", None, "mspx_expired")
    lines = [r.getMessage() for r in caplog.records if r.name == "msplex.identity"]
    assert len(lines) == 2, lines
    assert "unknown or revoked" in lines[0] and "expired" in lines[1] and "tenant acme" in lines[0]
    assert not any("mspx_" in line for line in lines)
