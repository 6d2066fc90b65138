"""Cross-tenant probes: a credential only ever opens its own tenant."""

from __future__ import annotations

import httpx2
import mcp_types as types
import pytest
from security_support import Tenants

from support.gateway import connect, jsonrpc_of, legacy_headers, modern_request, open_legacy_session, rpc

MODES = ["legacy", "2026-07-28"]
FORBIDDEN = -32003


async def _initialize(http: httpx2.AsyncClient, url: str, token: str | None) -> httpx2.Response:
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}
    return await http.post(url, json=rpc("initialize", params), headers=legacy_headers(token))


async def test_another_tenants_token_is_refused_on_its_path(tenants: Tenants) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        legacy = await _initialize(http, tenants.url("acme"), tenants.beta)
        headers, body = modern_request("tools/list", None, tenants.beta)
        modern = await http.post(tenants.url("acme"), json=body, headers=headers)
        headers, body = modern_request("tools/call", {"name": "ev__echo", "arguments": {}}, tenants.beta, "ev__echo")
        call = await http.post(tenants.url("acme"), json=body, headers=headers)
        nobody = await _initialize(http, tenants.url("no-such-tenant"), tenants.beta)
    for response in (legacy, modern, call, nobody):
        assert response.status_code == 403, response.text
        assert jsonrpc_of(response)["error"]["code"] == FORBIDDEN
    # An unknown tenant and someone else's tenant look the same: slugs cannot be enumerated.
    assert jsonrpc_of(nobody)["error"]["message"] == jsonrpc_of(legacy)["error"]["message"]


async def test_a_legacy_session_cannot_be_replayed_by_another_tenant(tenants: Tenants) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, tenants.url("acme"), tenants.acme)
        call = rpc("tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}, rid=2)
        own = await http.post(tenants.url("acme"), json=call, headers=legacy_headers(tenants.acme, session))
        other_token = await http.post(tenants.url("acme"), json=call, headers=legacy_headers(tenants.beta, session))
        other_path = await http.post(tenants.url("beta"), json=call, headers=legacy_headers(tenants.beta, session))
        own_token_other_path = await http.post(
            tenants.url("beta"), json=call, headers=legacy_headers(tenants.acme, session)
        )
        via_mcp = await http.post(tenants.url(None), json=call, headers=legacy_headers(tenants.beta, session))
        anonymous = await http.post(tenants.url("acme"), json=call, headers=legacy_headers(None, session))
        stream = await http.get(
            tenants.url("acme"), headers={**legacy_headers(tenants.beta, session), "Accept": "text/event-stream"}
        )
        deleted = await http.delete(tenants.url("acme"), headers=legacy_headers(tenants.beta, session))
        still = await http.post(tenants.url("acme"), json=call, headers=legacy_headers(tenants.acme, session))
    assert own.status_code == 200 and jsonrpc_of(own)["result"]["content"][0]["text"] == "x"
    for response in (other_token, other_path, via_mcp, anonymous, stream, deleted):
        assert response.status_code == 404, response.text
    assert own_token_other_path.status_code == 403
    assert still.status_code == 200, "another tenant's DELETE must not end the session"


@pytest.mark.parametrize("mode", MODES)
async def test_a_tenant_sees_and_reaches_only_its_own_catalogue(tenants: Tenants, mode: str) -> None:
    async with connect(tenants.url("beta"), tenants.beta, mode) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        resources = [str(r.uri) for r in (await client.list_resources()).resources]
        errors = []
        for attempt in (
            client.session.call_tool("ev__echo", {"text": "x"}),
            client.read_resource("ev+test://watched"),
            client.read_resource("mirror+test://watched"),
            client.get_prompt("ev__anything", {}),
            client.complete(types.PromptReference(type="ref/prompt", name="ev__anything"), {"name": "a", "value": ""}),
        ):
            with pytest.raises(Exception) as caught:
                await attempt
            errors.append(caught.value)
    assert tools and all(name.startswith("bev__") for name in tools)
    assert resources == ["bev+test://watched"]
    assert [getattr(e, "code", None) for e in errors] == [types.INVALID_PARAMS] * len(errors)


@pytest.mark.parametrize("mode", MODES)
async def test_the_shared_endpoint_resolves_the_tokens_own_tenant(tenants: Tenants, mode: str) -> None:
    async with connect(tenants.url(None), tenants.acme, mode) as client:
        acme_tools = {t.name for t in (await client.list_tools()).tools}
    async with connect(tenants.url(None), tenants.beta, mode) as client:
        beta_tools = {t.name for t in (await client.list_tools()).tools}
        echoed = await client.call_tool("bev__echo", {"text": "beta"})
    assert "ev__echo" in acme_tools and not any(n.startswith("bev__") for n in acme_tools)
    assert "bev__echo" in beta_tools and not any(n.startswith(("ev__", "mirror__")) for n in beta_tools)
    assert echoed.content[0].text == "beta"  # type: ignore[union-attr]


async def test_anonymous_access_only_where_allowed(tenants: Tenants) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        closed = await _initialize(http, tenants.url("acme"), None)
        shared = await _initialize(http, tenants.url(None), None)
        headers, body = modern_request("tools/list", None, None)
        closed_modern = await http.post(tenants.url("beta"), json=body, headers=headers)
        wrong = await _initialize(http, tenants.url("open"), "mspx_not-a-real-token")
        other = await _initialize(http, tenants.url("open"), tenants.acme)
    for response in (closed, shared, closed_modern, wrong):
        assert response.status_code == 401, response.text
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    assert other.status_code == 403
    for mode in MODES:
        async with connect(tenants.url("open"), None, mode) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            echoed = await client.call_tool("oev__echo", {"text": "anon"})
        assert tools and all(n.startswith("oev__") for n in tools)
        assert echoed.content[0].text == "anon"  # type: ignore[union-attr]
