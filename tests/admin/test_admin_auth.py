"""Who may call the admin API: operators everywhere, a tenant's admins on their own tenant only, nobody else.

Refusals: 401 with ``error="invalid_token"`` when the credential proves nothing, 403 with
``error="insufficient_scope"`` for a principal without the admin role, and one 404 body for
every other tenant's path, existing or not.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from msplex.admin import routes
from msplex.store.models import utcnow
from support.admin import BASE, Admin
from support.idp import Idp

PROBLEM = "application/problem+json"


def _challenge(header: str | None, error: str) -> None:
    assert header is not None
    assert header.startswith("Bearer ")
    assert f'error="{error}"' in header
    assert re.search(r'error_description="[^"]+"', header)


async def test_no_token_is_401_invalid_token(admin: Admin) -> None:
    await admin.tenant("acme")
    for path in (f"{BASE}/tenants", f"{BASE}/tenants/acme", f"{BASE}/tenants/acme/customers"):
        response = await admin.call("GET", path, None)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == PROBLEM
        _challenge(response.headers.get("www-authenticate"), "invalid_token")
        assert response.json()["status"] == 401


async def test_unknown_and_malformed_credentials_are_401(admin: Admin) -> None:
    unknown = await admin.call("GET", f"{BASE}/tenants", "mspx_not-a-token")
    assert unknown.status_code == 401
    _challenge(unknown.headers.get("www-authenticate"), "invalid_token")
    assert "unknown or revoked" in unknown.json()["detail"]
    jwt_like = await admin.call("GET", f"{BASE}/tenants", "a.b.c")
    assert jwt_like.status_code == 401
    _challenge(jwt_like.headers.get("www-authenticate"), "invalid_token")
    basic = await admin.http.get(f"{BASE}/tenants", headers={"authorization": "Basic b3A6cHc="})
    assert basic.status_code == 401
    _challenge(basic.headers.get("www-authenticate"), "invalid_request")


async def test_expired_and_revoked_tokens_are_401(admin: Admin) -> None:
    await admin.tenant("acme")
    expiring = await admin.token("acme", "admin", expires_at=utcnow() + timedelta(seconds=1.5))
    doomed = await admin.token("acme", "admin")
    assert (await admin.call("GET", f"{BASE}/tenants/acme", expiring)).status_code == 200
    listed = (await admin.call("GET", f"{BASE}/tenants/acme/tokens", doomed)).json()
    doomed_id = next(t["id"] for t in listed if doomed.startswith(t["prefix"]) and t["state"] == "active")
    revoked = await admin.call("DELETE", f"{BASE}/tenants/acme/tokens/{doomed_id}", admin.operator)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    await admin.sync()
    await asyncio.sleep(1.6)
    for token in (expiring, doomed):
        response = await admin.call("GET", f"{BASE}/tenants/acme", token)
        assert response.status_code == 401
        _challenge(response.headers.get("www-authenticate"), "invalid_token")


@pytest.mark.parametrize("role", ["member", "customer"])
async def test_members_and_customers_are_403_insufficient_scope(admin: Admin, role: str) -> None:
    await admin.tenant("acme")
    customer = None
    if role == "customer":
        await admin.store.tenant("acme").create_customer("cu")
        customer = "cu"
    token = await admin.token("acme", role, customer)
    for method, path in (
        ("GET", f"{BASE}/tenants"),
        ("GET", f"{BASE}/tenants/acme"),
        ("GET", f"{BASE}/tenants/acme/tokens"),
        ("POST", f"{BASE}/tenants/acme/customers"),
        ("GET", f"{BASE}/tenants/beta/customers"),
    ):
        response = await admin.call(method, path, token, json={"slug": "x"} if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert response.headers["content-type"] == PROBLEM
        _challenge(response.headers.get("www-authenticate"), "insufficient_scope")
    assert [c.slug for c in await admin.store.tenant("acme").list_customers()] == ([] if role == "member" else ["cu"])


async def test_tenants_are_the_operators(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    for method in ("GET", "POST"):
        response = await admin.call(
            method, f"{BASE}/tenants", token, json={"slug": "mine"} if method == "POST" else None
        )
        assert response.status_code == 403
        _challenge(response.headers.get("www-authenticate"), "insufficient_scope")
    assert [t.slug for t in await admin.store.list_tenants()] == ["acme"]
    mine = await admin.call("GET", f"{BASE}/tenants/acme", token)
    assert mine.status_code == 200
    assert mine.json()["slug"] == "acme"


async def test_operator_acts_on_every_tenant_and_gets_true_404s(admin: Admin) -> None:
    created = await admin.call("POST", f"{BASE}/tenants", admin.operator, json={"slug": "acme", "name": "Acme"})
    assert created.status_code == 201
    assert created.headers["location"] == f"{BASE}/tenants/acme"
    assert (await admin.call("POST", f"{BASE}/tenants", admin.operator, json={"slug": "beta"})).status_code == 201
    listed = await admin.call("GET", f"{BASE}/tenants", admin.operator)
    assert [t["slug"] for t in listed.json()] == ["acme", "beta"]
    for slug in ("acme", "beta"):
        added = await admin.call("POST", f"{BASE}/tenants/{slug}/customers", admin.operator, json={"slug": "cu"})
        assert added.status_code == 201
    missing = await admin.call("GET", f"{BASE}/tenants/nosuch/customers", admin.operator)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "tenant 'nosuch' does not exist"


def _concrete(path: str, tenant: str) -> str:
    return (
        path.replace("{tenant}", tenant)
        .replace("{slug}", "thing")
        .replace("{token_id}", "thing")
        .replace("{name}", "thing")
    )


async def test_other_tenants_paths_are_one_404_whether_they_exist_or_not(admin: Admin) -> None:
    acme = await admin.tenant_admin("acme")
    beta = await admin.tenant_admin("beta")
    tenant_routes = [r for r in routes() if "{tenant}" in r.path]
    assert len(tenant_routes) >= 20
    bodies = set()
    for route in tenant_routes:
        body = {} if route.method in ("POST", "PUT", "PATCH") else None
        for tenant in ("beta", "nosuch"):
            response = await admin.call(route.method, _concrete(route.path, tenant), acme, json=body)
            assert response.status_code == 404, (route, tenant, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert "www-authenticate" not in response.headers
            bodies.add(response.content)
    assert len(bodies) == 1, bodies
    (body,) = bodies
    assert b"beta" not in body and b"nosuch" not in body
    # the same paths are served to beta's own admin, and to the operator
    own = await admin.call("GET", f"{BASE}/tenants/beta/customers", beta)
    assert own.status_code == 200
    operator = await admin.call("GET", f"{BASE}/tenants/beta/customers", admin.operator)
    assert operator.status_code == 200
    assert (await admin.call("GET", f"{BASE}/tenants/nosuch", admin.operator)).content not in bodies


async def test_an_oidc_admin_of_the_tenant_is_let_in_others_are_not(admin: Admin) -> None:
    acme = await admin.tenant_admin("acme")
    await admin.tenant("beta")
    with Idp() as idp:
        configured = await admin.call(
            "PUT", f"{BASE}/tenants/acme/oidc", acme, json={"issuer": idp.issuer, "audience": idp.audience}
        )
        assert configured.status_code == 200, configured.text
        await admin.sync()
        person = idp.mint({"roles": ["admin"]})
        assert (await admin.call("GET", f"{BASE}/tenants/acme/customers", person)).status_code == 200
        elsewhere = await admin.call("GET", f"{BASE}/tenants/beta/customers", person)
        assert elsewhere.status_code == 404
        member = await admin.call("GET", f"{BASE}/tenants/acme/customers", idp.mint({"roles": ["member"]}))
        assert member.status_code == 403
        _challenge(member.headers.get("www-authenticate"), "insufficient_scope")
        forged = await admin.call("GET", f"{BASE}/tenants/acme/customers", idp.forged({"roles": ["admin"]}))
        assert forged.status_code == 401
        _challenge(forged.headers.get("www-authenticate"), "invalid_token")
