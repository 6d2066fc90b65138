"""Every admin API route and method, tried by every identity that must not get through.

The table is the application's own (``msplex.admin.routes()``): a route added later is probed without
anyone writing a row. Tenant ``acme`` is the target; the probers are another tenant's admin, acme's
member and customer, anonymous, expired and revoked tokens, and bad JWTs. Each must be refused (401 or
403, or for tenant routes the 404 a missing tenant gets, byte for byte), and no body may hold anything
of acme's: its customer, entity, upstream, token prefixes or header values.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from msplex.admin import routes
from support.admin import BASE, Admin, start_admin
from support.idp import Idp

ACME_SECRETS = ("alpha", "Alpha Ltd", "helpdesk", "files", "k-secret-9d2f", "mspx_", "login.example.com", "acme-api",
                "wipe_the_lot", "srv-secret-9", "halo-vault-secret-3", "acme.halo.example")  # fmt: skip
BODY: dict[str, Any] = {
    "/tenants": {"slug": "mallory", "name": "x"},
    "/customers": {"slug": "mallory"},
    "/tokens": {"role": "admin"},
    "/rules": {"kind": "tool", "pattern": "*", "enabled": True, "audiences": ["public"], "confirm_public": True},
    "/entities": {"slug": "mallory", "name": "x"},
    "/tools": {"add": ["*"]},
    "/upstreams": {"name": "mallory", "url": "https://93.184.215.14/mcp"},
    "/oidc": {"issuer": "https://evil.example", "audience": "x"},
    "/approve": {"reason": "x"},
    "/deny": {"reason": "x"},
    "/connectors/{connector}": {"kind": "halopsa", "base_url": "https://93.184.215.14", "validate_live": False},
    "/customers/{customer}": {"vendor_id": "666"},
    "/discover": {"apply": True},
}
APPROVAL_ID = "9f1c3a52-0d6e-4c1b-9a57-1f2e3d4c5b6a"
"""Acme's pending approval request (set to its real id by the harness)."""


def _path(template: str, tenant: str) -> str:
    concrete = template.replace("{tenant}", tenant).replace("{slug}", "helpdesk").replace("{name}", "files")
    concrete = concrete.replace("{token_id}", "some-token").replace("{approval_id}", APPROVAL_ID)
    concrete = concrete.replace("{connector}", "halo").replace("{customer}", "alpha")
    return f"{concrete}?anonymous=true" if concrete.endswith("/effective-tools") else concrete


def _body(template: str) -> Any:
    return next((body for suffix, body in BODY.items() if template.endswith(suffix)), None)


@pytest.fixture(scope="module")
def idp() -> AsyncIterator[Idp]:
    with Idp() as provider:
        yield provider


@pytest.fixture
async def harness(
    tmp_path: Path, unavailable: Callable[[str, str], NoReturn], idp: Idp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Admin, dict[str, str | None]]]:
    monkeypatch.setenv("MSPLEX_OIDC_ISSUER", idp.issuer)
    monkeypatch.setenv("MSPLEX_OIDC_AUDIENCE", "msplex")
    async for admin in start_admin("sqlite", tmp_path / "home", unavailable):
        await admin.tenant("acme")
        scope = admin.store.tenant("acme")
        await scope.create_customer("alpha", "Alpha Ltd")
        await scope.create_entity("helpdesk", "Help Desk")
        await scope.add_upstream("files", url="https://93.184.215.14/mcp", headers={"X-Key": "k-secret-9d2f"})
        await scope.set_oidc("https://login.example.com/acme", "acme-api")
        await scope.connectors.save(
            "halo", kind="halopsa", base_url="https://acme.halo.example", token_url=None,
            settings={"client_id": "cid"}, secrets={"client_secret": "halo-vault-secret-3"},
        )  # fmt: skip
        await scope.connectors.map_customer("alpha", "halo", "12")
        held = await scope.approvals.create(
            kind="tool", name="files__wipe_the_lot", instance="files", customer_id=None, requester="token:x",
            arguments={"target": "srv-secret-9"}, redacted={"target": "srv-secret-9"}, ttl=3600,
        )  # fmt: skip
        monkeypatch.setitem(globals(), "APPROVAL_ID", held.id)
        await admin.tenant("beta")
        revoked = await admin.token("acme", "admin")
        await scope.revoke_token(revoked[:12])
        probers: dict[str, str | None] = {
            "another tenant's admin": await admin.token("beta", "admin"),
            "acme's member": await admin.token("acme", "member"),
            "acme's customer": await admin.token("acme", "customer", customer="alpha"),
            "anonymous": None,
            "a revoked admin token": revoked,
            "an expired admin token": await _expired(admin),
            "an admin JWT of another tenant": idp.mint({"msplex_tenant": "beta", "roles": ["admin"]}),
            "a member JWT": idp.mint({"msplex_tenant": "acme"}),
            "a forged admin JWT": idp.forged({"msplex_tenant": "acme", "roles": ["admin"]}),
            "an alg:none admin JWT": idp.unsigned({"msplex_tenant": "acme", "roles": ["admin"]}),
            "an HS256-with-public-key admin JWT": idp.hs256_with_public_key(
                {"msplex_tenant": "acme", "roles": ["admin"]}
            ),
            "an expired admin JWT": idp.expired({"msplex_tenant": "acme", "roles": ["admin"]}),
            "a wrong-audience admin JWT": idp.wrong_audience({"msplex_tenant": "acme", "roles": ["admin"]}),
        }
        await admin.sync()
        yield admin, probers


async def _expired(admin: Admin) -> str:
    from datetime import UTC, datetime, timedelta

    token, _ = await admin.store.tenant("acme").create_token(
        role="admin", expires_at=datetime.now(UTC) + timedelta(seconds=1)
    )
    await admin.sync()
    await asyncio.sleep(1.1)
    return token


def _normal(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z|\d+ s\b", "WHEN", text).replace("no-such-msp", "acme")


async def test_no_admin_route_opens_for_a_prober(harness: tuple[Admin, dict[str, str | None]]) -> None:
    admin, probers = harness
    table = [r for r in routes() if r.path != f"{BASE}/openapi.json"]
    assert len(table) >= 24 and all(r.path.startswith(BASE) for r in table)
    owner = await admin.token("acme", "admin")
    for route in table:  # the probes below are refusals of routes that do serve their owner
        if route.method == "GET" and "{token_id}" not in route.path:
            who = admin.operator if route.access == "operator" else owner
            served = await admin.call("GET", _path(route.path, "acme"), who)
            assert served.status_code == 200, (route, served.text[:200])
    tried = 0
    for route in table:
        for name, token in probers.items():
            path, missing = _path(route.path, "acme"), _path(route.path, "no-such-msp")
            body = _body(route.path)
            asked = await admin.call(route.method, path, token, json=body)
            tried += 1
            text = asked.text
            assert asked.status_code in (401, 403, 404), (name, route, asked.status_code, text[:300])
            assert asked.headers["content-type"].startswith("application/problem+json"), (name, route)
            leaked = [s for s in ACME_SECRETS if s in text and s not in path]
            assert not leaked, (name, route, leaked)
            assert token is None or token not in text
            if asked.status_code == 404 and "{tenant}" in route.path:
                control = await admin.call(route.method, missing, token, json=body)
                assert (control.status_code, _normal(control.text)) == (404, _normal(text)), (name, route)
    assert tried == len(table) * len(probers)
    assert await admin.store.tenant("acme").list_customers() != []  # nothing was deleted
    assert [c.slug for c in await admin.store.tenant("acme").list_customers()] == ["alpha"]
    assert (await admin.store.tenant("acme").approvals.get(APPROVAL_ID)).status == "pending"  # nobody decided it
    halo = await admin.store.tenant("acme").connectors.get("halo")
    assert halo.customers == {"alpha": "12"} and halo.base_url == "https://acme.halo.example"  # nobody changed it
