"""Every failure of the admin API is an RFC 9457 problem, and none carries a traceback or the input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from msplex.store import TenantStore
from msplex.store.models import Upstream
from support.admin import BASE, Admin, bearer
from support.inproc import snapshot, start

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


async def test_unknown_routes_and_methods(admin: Admin) -> None:
    for path in (f"{BASE}/nothing", f"{BASE}/tenants/acme/nothing", "/admin/v2/tenants", f"{BASE}/tenants/"):
        body = _problem(await admin.call("GET", path, admin.operator), 404)
        assert body["detail"] == f"nothing is served at {path}"
    wrong = await admin.call("PATCH", f"{BASE}/tenants", admin.operator)
    _problem(wrong, 405)
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    for path in (f"{BASE}/docs", f"{BASE}/redoc", "/docs", "/admin/docs"):
        _problem(await admin.call("GET", path, None), 404)


async def test_validation_errors_are_summarised_without_the_input(admin: Admin) -> None:
    await admin.tenant("acme")
    secret = "hunter2-do-not-echo"
    response = await admin.call(
        "POST",
        f"{BASE}/tenants/acme/upstreams",
        admin.operator,
        json={"name": 7, "url": "https://93.184.215.14/mcp", "headers": {"Authorization": 5}, "token": secret},
    )
    body = _problem(response, 422)
    assert secret not in response.text
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"body.name", "body.headers.Authorization", "body.token"}
    assert all(e["message"] for e in body["errors"])
    assert "body.token" in body["detail"]
    query = await admin.call("GET", f"{BASE}/tenants/acme/effective-tools?subject=s&role=root", admin.operator)
    assert {e["field"] for e in _problem(query, 422)["errors"]} == {"query.role"}


async def test_malformed_json_is_400(admin: Admin) -> None:
    response = await admin.http.post(
        f"{BASE}/tenants", content=b'{"slug": ', headers={**bearer(admin.operator), "content-type": "application/json"}
    )
    assert _problem(response, 400)["detail"] == "the body is not valid JSON"


async def test_store_errors_map_to_statuses(admin: Admin) -> None:
    await admin.tenant("acme")
    exists = await admin.call("POST", f"{BASE}/tenants", admin.operator, json={"slug": "acme"})
    assert _problem(exists, 409)["detail"] == "tenant 'acme' already exists"
    invalid = await admin.call("POST", f"{BASE}/tenants", admin.operator, json={"slug": "Not A Slug"})
    body = _problem(invalid, 422)
    assert body["field"] == "tenant slug"
    assert body["detail"].startswith("invalid tenant slug:")
    missing = await admin.call("DELETE", f"{BASE}/tenants/acme/customers/nobody", admin.operator)
    assert _problem(missing, 404)["detail"] == "customer 'nobody' does not exist in tenant 'acme'"
    token = await admin.call("GET", f"{BASE}/tenants/acme/effective-tools?token_id=nope", admin.operator)
    assert _problem(token, 404)["detail"] == "token 'nope' does not exist in tenant 'acme'"


async def test_a_header_that_no_key_opens_is_a_500_with_the_stores_message(admin: Admin) -> None:
    await admin.tenant("acme")
    await admin.store.tenant("acme").add_upstream("files", url="https://93.184.215.14/mcp", headers={"X-K": "v"})
    async with admin.store.mutation() as session:
        await session.execute(sa.update(Upstream).values(headers_enc="AAAA" + "A" * 60))
    response = await admin.call("GET", f"{BASE}/tenants/acme/upstreams", admin.operator)
    body = _problem(response, 500)
    assert body["detail"].startswith("the headers of upstream 'files' in tenant 'acme' cannot be decrypted")


async def test_an_unexpected_failure_is_a_bare_500(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    await admin.tenant("acme")

    async def broken(self: TenantStore) -> None:
        raise RuntimeError("internal detail: /srv/secret/path")

    monkeypatch.setattr(TenantStore, "list_customers", broken)
    response = await admin.call("GET", f"{BASE}/tenants/acme/customers", admin.operator)
    body = _problem(response, 500)
    assert "internal detail" not in response.text
    assert body["detail"] == "unexpected error; see the gateway's log"
    # the app is still serving
    assert (await admin.call("GET", f"{BASE}/tenants", admin.operator)).status_code == 200


async def test_body_cap(admin: Admin) -> None:
    await admin.tenant("acme")
    cap = admin.app.settings.max_body_bytes
    big = b'{"slug": "x", "name": "' + b"a" * cap + b'"}'
    response = await admin.http.post(
        f"{BASE}/tenants/acme/customers",
        content=big,
        headers={**bearer(admin.operator), "content-type": "application/json"},
    )
    _problem(response, 413)
    assert await admin.store.tenant("acme").list_customers() == []


async def test_host_and_origin_are_checked_before_the_admin_app(admin: Admin) -> None:
    response = await admin.http.get(f"{BASE}/openapi.json", headers={"host": "evil.example"})
    _problem(response, 421)
    response = await admin.http.get(f"{BASE}/tenants", headers={"origin": "https://evil.example"})
    _problem(response, 403)
    assert (await admin.http.get(f"{BASE}/openapi.json")).status_code == 200


async def test_an_edge_without_an_admin_app_serves_no_admin_paths() -> None:
    gateway = await start(snapshot([("t1", "acme", False)]))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway.edge), base_url="http://127.0.0.1"
        ) as http:
            response = await http.get(f"{BASE}/openapi.json")
        assert response.status_code == 404
        assert response.json()["detail"] == f"nothing is served at {BASE}/openapi.json"
    finally:
        await gateway.close()
