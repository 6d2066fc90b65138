"""A tenant admin manages its own tenant through the API: customers, tokens, rules, entities, upstreams, OIDC.

Each change is checked in the store (the service the CLI uses), not only in the API's answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from msplex.store.models import Upstream
from support.admin import BASE, Admin

PROBLEM = "application/problem+json"


async def test_customers(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    url = f"{BASE}/tenants/acme/customers"
    created = await admin.call("POST", url, token, json={"slug": "globex", "name": "Globex Corp"})
    assert created.status_code == 201
    assert created.json()["slug"] == "globex"
    assert created.json()["name"] == "Globex Corp"
    assert (await admin.call("POST", url, token, json={"slug": "initech"})).status_code == 201
    listed = await admin.call("GET", url, token)
    assert [c["slug"] for c in listed.json()] == ["globex", "initech"]
    again = await admin.call("POST", url, token, json={"slug": "globex"})
    assert again.status_code == 409
    assert again.json()["detail"] == "customer 'globex' already exists in tenant 'acme'"
    assert (await admin.call("DELETE", f"{url}/initech", token)).status_code == 204
    assert [c.slug for c in await admin.store.tenant("acme").list_customers()] == ["globex"]
    gone = await admin.call("DELETE", f"{url}/initech", token)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == PROBLEM


async def test_tokens(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    await admin.store.tenant("acme").create_customer("globex")
    url = f"{BASE}/tenants/acme/tokens"
    member = await admin.call("POST", url, token, json={"name": "ci", "tools": ["ev__*"], "expires_in_seconds": 3600})
    assert member.status_code == 201
    body = member.json()
    assert body["token"].startswith("mspx_") and body["token"].startswith(body["prefix"])
    assert body["role"] == "member" and body["tools"] == ["ev__*"] and body["state"] == "active"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    customer = await admin.call("POST", url, token, json={"role": "customer", "customer": "globex"})
    assert customer.status_code == 201
    assert customer.json()["customer"] == "globex"
    at = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    second_admin = await admin.call("POST", url, token, json={"role": "admin", "expires_at": at})
    assert second_admin.status_code == 201
    both = await admin.call("POST", url, token, json={"expires_at": at, "expires_in_seconds": 60})
    assert both.status_code == 422
    assert both.headers["content-type"] == PROBLEM
    unbound = await admin.call("POST", url, token, json={"role": "customer"})
    assert unbound.status_code == 422
    assert unbound.json()["field"] == "customer"
    past = await admin.call("POST", url, token, json={"expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422
    # the new admin token is a working credential (after the control plane picks it up)
    await admin.sync()
    assert (await admin.call("GET", f"{BASE}/tenants/acme", second_admin.json()["token"])).status_code == 200

    listed = await admin.call("GET", url, token)
    rows = listed.json()
    assert len(rows) == 4
    assert all("token" not in row for row in rows)
    for created in (member, customer, second_admin):
        assert created.json()["token"] not in listed.text
    assert {r["role"] for r in rows} == {"admin", "member", "customer"}
    assert next(r for r in rows if r["role"] == "customer")["customer"] == "globex"

    revoked = await admin.call("DELETE", f"{url}/{customer.json()['prefix']}…", token)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["customer"] == "globex"
    stored = {t.id: t for t in await admin.store.tenant("acme").list_tokens()}
    assert stored[customer.json()["id"]].revoked_at is not None
    assert (await admin.call("DELETE", f"{url}/nope", token)).status_code == 404


async def test_rules_and_the_public_confirmation(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    url = f"{BASE}/tenants/acme/rules"
    enabled = await admin.call("PUT", url, token, json={"kind": "tool", "pattern": "ev__*", "enabled": True})
    assert enabled.status_code == 200
    assert enabled.json()["audiences"] == ["member", "admin"]
    public = {"kind": "tool", "pattern": "ev__pid", "enabled": True, "audiences": ["public"]}
    refused = await admin.call("PUT", url, token, json=public)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert "confirm_public" in refused.json()["detail"]
    assert "unauthenticated" in refused.json()["detail"]
    assert [r.pattern for r in await admin.store.tenant("acme").list_rules()] == ["ev__*"]
    confirmed = await admin.call("PUT", url, token, json={**public, "confirm_public": True})
    assert confirmed.status_code == 200
    disabled = await admin.call(
        "PUT", url, token, json={"kind": "resource", "pattern": "*", "enabled": False, "audiences": ["public"]}
    )
    assert disabled.status_code == 200
    assert disabled.json()["audiences"] == []
    listed = await admin.call("GET", url, token)
    assert [(r["kind"], r["pattern"], r["enabled"]) for r in listed.json()] == [
        ("tool", "ev__*", True),
        ("tool", "ev__pid", True),
        ("resource", "*", False),
    ]
    stored = await admin.store.tenant("acme").list_rules()
    assert [(r.pattern, r.audiences) for r in stored] == [
        ("ev__*", ("member", "admin")),
        ("ev__pid", ("public",)),
        ("*", ()),
    ]
    bad_kind = await admin.call("PUT", url, token, json={"kind": "widget", "pattern": "*", "enabled": True})
    assert bad_kind.status_code == 422
    bad_pattern = await admin.call("PUT", url, token, json={"pattern": "has space", "enabled": True})
    assert bad_pattern.status_code == 422
    assert bad_pattern.json()["field"] == "pattern"


async def test_entities(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    await admin.store.tenant("acme").create_customer("globex")
    url = f"{BASE}/tenants/acme/entities"
    created = await admin.call(
        "POST",
        url,
        token,
        json={"slug": "helpdesk", "name": "Help Desk", "website_url": "https://help.example", "customer": "globex"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{url}/helpdesk"
    assert created.json()["customer"] == "globex"
    assert created.json()["endpoint"].endswith("/mcp/entities/helpdesk")
    changed = await admin.call("PATCH", f"{url}/helpdesk/tools", token, json={"add": ["ev__echo", "ev__t0*"]})
    assert changed.status_code == 200
    assert changed.json()["tools"] == ["ev__echo", "ev__t0*"]
    changed = await admin.call("PATCH", f"{url}/helpdesk/tools", token, json={"remove": ["ev__echo"]})
    assert changed.json()["tools"] == ["ev__t0*"]
    assert (await admin.store.tenant("acme").get_entity("helpdesk")).tools == ("ev__t0*",)
    empty = await admin.call("PATCH", f"{url}/helpdesk/tools", token, json={})
    assert empty.status_code == 422
    shown = await admin.call("GET", f"{url}/helpdesk", token)
    assert shown.json()["tools"] == ["ev__t0*"]
    assert [e["slug"] for e in (await admin.call("GET", url, token)).json()] == ["helpdesk"]
    assert (await admin.call("DELETE", f"{url}/helpdesk", token)).status_code == 204
    missing = await admin.call("GET", f"{url}/helpdesk", token)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "entity 'helpdesk' does not exist in tenant 'acme'"


async def test_http_upstreams_are_the_tenants(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    url = f"{BASE}/tenants/acme/upstreams"
    created = await admin.call(
        "POST",
        url,
        token,
        json={"name": "files", "url": "https://93.184.215.14/mcp", "headers": {"X-Api-Key": "k-123456"}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["header_names"] == ["X-Api-Key"]
    assert created.json()["transport"] == "http"
    async with admin.store.reader() as session:
        row = await session.scalar(sa.select(Upstream).where(Upstream.name == "files"))
        assert row is not None
        assert row.registered_by == "tenant"
        assert row.headers_enc is not None and "k-123456" not in row.headers_enc
    (entry,) = await admin.store.tenant("acme").upstream_entries()
    assert dict(entry.headers) == {"X-Api-Key": "k-123456"}
    listed = await admin.call("GET", url, token)
    assert [(u["name"], u["url"], u["header_names"]) for u in listed.json()] == [
        ("files", "https://93.184.215.14/mcp", ["X-Api-Key"])
    ]
    duplicate = await admin.call("POST", url, token, json={"name": "files", "url": "https://93.184.215.15/mcp"})
    assert duplicate.status_code == 409
    no_url = await admin.call("POST", url, token, json={"name": "other"})
    assert no_url.status_code == 422
    assert no_url.json()["field"] == "url"
    bad_url = await admin.call("POST", url, token, json={"name": "other", "url": "ftp://x.example/"})
    assert bad_url.status_code == 422
    assert (await admin.call("DELETE", f"{url}/files", token)).status_code == 204
    assert await admin.store.tenant("acme").list_upstreams() == []
    assert (await admin.call("DELETE", f"{url}/files", token)).status_code == 404


async def test_a_tenant_upstream_must_be_public(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    url = f"{BASE}/tenants/acme/upstreams"
    for target, why in (
        ("http://127.0.0.1:5432/mcp", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.7/mcp", "private"),
        ("https://no-such-host.invalid/mcp", "does not resolve"),
    ):
        refused = await admin.call("POST", url, token, json={"name": "sneaky", "url": target})
        assert refused.status_code == 422 and why in refused.json()["detail"], refused.text
    assert await admin.store.tenant("acme").list_upstreams() == []


async def test_stdio_upstreams_are_refused_to_everyone(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    url = f"{BASE}/tenants/acme/upstreams"
    for caller in (token, admin.operator):
        for body in (
            {"name": "shell", "command": ["sh", "-c", "id"]},
            {"name": "shell", "command": "sh -c id"},
            {"name": "shell", "url": "https://93.184.215.14/mcp", "command": None},
        ):
            refused = await admin.call("POST", url, caller, json=body)
            assert refused.status_code == 403, body
            assert refused.headers["content-type"] == PROBLEM
            assert "www-authenticate" not in refused.headers
            detail = refused.json()["detail"]
            assert "CLI" in detail and "gateway host" in detail and "msplex upstream add" in detail
    assert await admin.store.tenant("acme").list_upstreams() == []


async def test_oidc(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    url = f"{BASE}/tenants/acme/oidc"
    none = await admin.call("GET", url, token)
    assert none.status_code == 404
    assert none.json()["detail"] == "tenant 'acme' has no identity provider"
    settings = {
        "issuer": "https://login.example.com/acme",
        "audience": "msplex",
        "role_map": {"Helpdesk Admins": "admin", "Staff": "member"},
    }
    stored = await admin.call("PUT", url, token, json=settings)
    assert stored.status_code == 200, stored.text
    shown = (await admin.call("GET", url, token)).json()
    assert shown["issuer"] == "https://login.example.com/acme"
    assert shown["role_map"] == {"Helpdesk Admins": "admin", "Staff": "member"}
    assert shown["customer_claim"] == "msplex_customer"
    record = await admin.store.tenant("acme").get_oidc()
    assert record is not None and record.audience == "msplex"
    bad_role = await admin.call("PUT", url, token, json={**settings, "role_map": {"x": "root"}})
    assert bad_role.status_code == 422
    assert (await admin.call("DELETE", url, token)).status_code == 204
    assert await admin.store.tenant("acme").get_oidc() is None
    assert (await admin.call("DELETE", url, token)).status_code == 404
