"""The OpenAPI document is served to anyone and lists exactly the routes ``routes()`` reports;
``routes()`` is the table a security suite walks, so it must cover every route with its access."""

from __future__ import annotations

from msplex.admin import OPENAPI_PATH, routes
from support.admin import BASE, Admin

EXPECTED = {
    ("GET", "/admin/v1/openapi.json"): "anyone",
    ("GET", "/admin/v1/tenants"): "operator",
    ("POST", "/admin/v1/tenants"): "operator",
    ("GET", "/admin/v1/tenants/{tenant}"): "operator or tenant admin",
    **{
        (method, f"/admin/v1/tenants/{{tenant}}{path}"): "operator or tenant admin"
        for method, path in (
            ("GET", "/customers"),
            ("POST", "/customers"),
            ("DELETE", "/customers/{slug}"),
            ("GET", "/tokens"),
            ("POST", "/tokens"),
            ("DELETE", "/tokens/{token_id}"),
            ("GET", "/items"),
            ("GET", "/rules"),
            ("PUT", "/rules"),
            ("GET", "/effective-tools"),
            ("GET", "/entities"),
            ("POST", "/entities"),
            ("GET", "/entities/{slug}"),
            ("PATCH", "/entities/{slug}/tools"),
            ("DELETE", "/entities/{slug}"),
            ("GET", "/upstreams"),
            ("POST", "/upstreams"),
            ("DELETE", "/upstreams/{name}"),
            ("GET", "/oidc"),
            ("PUT", "/oidc"),
            ("DELETE", "/oidc"),
            ("GET", "/approvals"),
            ("GET", "/approvals/{approval_id}"),
            ("POST", "/approvals/{approval_id}/approve"),
            ("POST", "/approvals/{approval_id}/deny"),
            ("GET", "/connectors"),
            ("GET", "/connectors/{connector}"),
            ("PUT", "/connectors/{connector}"),
            ("DELETE", "/connectors/{connector}"),
            ("PUT", "/connectors/{connector}/customers/{customer}"),
            ("DELETE", "/connectors/{connector}/customers/{customer}"),
            ("POST", "/connectors/{connector}/discover"),
        )
    },
}


def test_the_route_table() -> None:
    table = {(r.method, r.path): r.access for r in routes()}
    assert len(table) == len(routes())
    assert table == EXPECTED


async def test_the_document_lists_every_route_and_needs_no_credential(admin: Admin) -> None:
    response = await admin.http.get(OPENAPI_PATH)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    served = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    listed = {(r.method, r.path) for r in routes() if r.path != OPENAPI_PATH}
    assert served == listed
    bearer = document["components"]["securitySchemes"]
    assert any(s == {"type": "http", "scheme": "bearer", "description": s.get("description")} for s in bearer.values())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("security"), (method, path)
            problem = operation["responses"]["401"]["content"]["application/problem+json"]
            assert problem["schema"]["$ref"].endswith("/ProblemBody"), (method, path)


async def test_no_secret_field_is_in_any_response_schema(admin: Admin) -> None:
    document = (await admin.http.get(f"{BASE}/openapi.json")).json()
    schemas = document["components"]["schemas"]
    token_fields = [name for name, schema in schemas.items() if "token" in schema.get("properties", {})]
    assert token_fields == ["TokenCreated"]
    upstream = schemas["UpstreamOut"]["properties"]
    assert "headers" not in upstream and "header_names" in upstream and "command" not in upstream
    headers = schemas["UpstreamIn"]["properties"]["headers"]
    assert headers["additionalProperties"]["format"] == "password"
    for name, schema in schemas.items():
        if name.endswith("In"):
            assert schema.get("additionalProperties") is False, name
