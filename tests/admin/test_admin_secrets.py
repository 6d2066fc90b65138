"""Secrets handed to the admin API come back nowhere: an upstream's header value never, a token's
plaintext only in the answer that created it."""

from __future__ import annotations

import httpx
import pytest

from msplex.admin import routes
from msplex.admin import tools as admin_tools
from msplex.catalogue.merged import Catalogue
from msplex.cli._catalogue import Listed
from support.admin import BASE, Admin

HEADER_SECRET = "hdr-s3cr3t-7c1f0e"


def _clean(response: httpx.Response, *secrets: str) -> None:
    exposed = response.text + "".join(f"{k}: {v}\n" for k, v in response.headers.items())
    for secret in secrets:
        assert secret not in exposed, (response.request.method, response.request.url, response.status_code)


async def test_no_later_response_carries_a_header_value_or_a_token(admin: Admin) -> None:
    tenant_admin = await admin.tenant_admin("acme")
    await admin.store.tenant("acme").create_customer("cu")
    upstream = await admin.call(
        "POST",
        f"{BASE}/tenants/acme/upstreams",
        tenant_admin,
        json={"name": "files", "url": "https://93.184.215.14/mcp", "headers": {"Authorization": HEADER_SECRET}},
    )
    assert upstream.status_code == 201
    _clean(upstream, HEADER_SECRET)
    created = await admin.call("POST", f"{BASE}/tenants/acme/tokens", tenant_admin, json={"role": "admin"})
    assert created.status_code == 201
    plaintext = created.json()["token"]
    assert plaintext in created.text  # once, here

    later: list[httpx.Response] = []
    # every GET route, as the operator and as the tenant's admin
    for route in routes():
        if route.method != "GET":
            continue
        path = route.path.replace("{tenant}", "acme").replace("{slug}", "cu")
        for caller in (admin.operator, tenant_admin):
            later.append(await admin.call("GET", path, caller, params={"anonymous": "true"}))
    assert any(r.status_code == 200 and "header_names" in r.text for r in later)
    # refusals that name the upstream or are about its body
    for body in (
        {"name": "files", "url": "https://93.184.215.14/mcp", "headers": {"Authorization": HEADER_SECRET}},
        {"name": "Bad Name", "url": "https://93.184.215.14/mcp", "headers": {"Authorization": HEADER_SECRET}},
        {"name": "other", "url": "https://93.184.215.14/mcp", "headers": {"Authorization": f"{HEADER_SECRET}\n"}},
        {"name": "other", "url": "https://93.184.215.14/mcp", "headers": {"Host": HEADER_SECRET}},
        {"name": "other", "url": "https://93.184.215.14/mcp", "headers": {"Authorization": HEADER_SECRET}, "x": 1},
        {"name": "other", "command": ["run", HEADER_SECRET]},
    ):
        refused = await admin.call("POST", f"{BASE}/tenants/acme/upstreams", tenant_admin, json=body)
        assert refused.status_code in (403, 409, 422), refused.text
        later.append(refused)
    later.append(await admin.call("POST", f"{BASE}/tenants/acme/tokens", tenant_admin, json={"token": plaintext}))
    later.append(await admin.call("DELETE", f"{BASE}/tenants/acme/tokens/{created.json()['id']}", tenant_admin))
    later.append(await admin.call("GET", f"{BASE}/tenants/acme/tokens", tenant_admin))
    assert later[-1].status_code == 200
    for response in later:
        _clean(response, HEADER_SECRET, plaintext)


async def test_listing_failures_are_redacted_of_the_tenants_header_values(
    admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upstream's error may quote the credential it was sent; the API takes it out of the reason."""
    token = await admin.tenant_admin("acme")
    await admin.store.tenant("acme").add_upstream(
        "files", url="https://93.184.215.14/mcp", headers={"Authorization": HEADER_SECRET}
    )

    async def quoting(store: object, tenant: str, *, seconds: float = 15.0) -> Listed:
        return Listed(Catalogue.build(1, []), {"files": f"answered 401: bad credential {HEADER_SECRET}"})

    monkeypatch.setattr(admin_tools, "list_catalogue", quoting)
    items = await admin.call("GET", f"{BASE}/tenants/acme/items", token)
    assert items.status_code == 200
    assert items.json()["failures"] == [{"upstream": "files", "reason": "answered 401: bad credential [redacted]"}]
    _clean(items, HEADER_SECRET)
