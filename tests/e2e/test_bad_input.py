"""Malformed requests get the spec's status and JSON-RPC error, never a traceback, and the
gateway keeps serving."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from e2e_support import Deployment

from support.gateway import (
    ACCEPT,
    bearer,
    jsonrpc_of,
    legacy_headers,
    modern_request,
    open_legacy_session,
    rpc,
)

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
HEADER_MISMATCH, UNSUPPORTED_VERSION = -32020, -32022


@dataclass(frozen=True)
class Probe:
    """One bad request: ``build(token, session)`` gives (HTTP method, headers, body bytes)."""

    build: Callable[[str, str], tuple[str, dict[str, str], bytes]]
    status: int
    code: int | None = None


def _post(headers: dict[str, str], body: Any) -> tuple[str, dict[str, str], bytes]:
    return "POST", headers, body if isinstance(body, bytes) else json.dumps(body).encode()


def _modern(method: str, params: dict[str, Any] | None = None, **changes: Any) -> Callable[[str, str], Any]:
    def build(token: str, session: str) -> tuple[str, dict[str, str], bytes]:
        headers, body = modern_request(method, params, token)
        for key, value in changes.items():
            if key == "headers":
                headers.update(value)
            elif key == "meta":
                body["params"]["_meta"] = value
            elif key == "drop_header":
                headers.pop(value)
        return _post(headers, body)

    return build


PROBES: dict[str, Probe] = {
    "invalid-json": Probe(lambda t, s: _post(legacy_headers(t), b'{"jsonrpc": "2.0", "id": 1,'), 400, PARSE_ERROR),
    "not-json-rpc": Probe(lambda t, s: _post(legacy_headers(t), {"hello": "world"}), 400, INVALID_REQUEST),
    "batch": Probe(
        lambda t, s: _post(legacy_headers(t), [rpc("ping", rid=1), rpc("ping", rid=2)]), 400, INVALID_REQUEST
    ),
    "batch-in-session": Probe(
        lambda t, s: _post(legacy_headers(t, s), [rpc("ping", rid=1), rpc("ping", rid=2)]), 400, INVALID_REQUEST
    ),
    "wrong-content-type": Probe(
        lambda t, s: _post({**legacy_headers(t, s), "Content-Type": "text/plain"}, rpc("ping")), 415
    ),
    "missing-accept": Probe(
        lambda t, s: _post({k: v for k, v in legacy_headers(t, s).items() if k != "Accept"} | {"Accept": ""}, b"{}"),
        406,
    ),
    "accept-sse-only": Probe(
        lambda t, s: _post({**legacy_headers(t, s), "Accept": "text/event-stream"}, rpc("ping")), 406
    ),
    "oversized-body": Probe(lambda t, s: _post(legacy_headers(t, s), b" " * (4 * 1024 * 1024 + 1)), 413),
    "bad-host": Probe(lambda t, s: _post({**legacy_headers(t, s), "Host": "evil.example"}, rpc("ping")), 421),
    "bad-origin": Probe(
        lambda t, s: _post({**legacy_headers(t, s), "Origin": "http://evil.example"}, rpc("ping")), 403
    ),
    "unknown-session": Probe(lambda t, s: _post(legacy_headers(t, "not-a-session"), rpc("ping")), 404, INVALID_REQUEST),
    "missing-session": Probe(lambda t, s: _post(legacy_headers(t), rpc("tools/list")), 400, INVALID_REQUEST),
    "unknown-method": Probe(lambda t, s: _post(legacy_headers(t, s), rpc("tools/frobnicate")), 200, METHOD_NOT_FOUND),
    "params-not-object": Probe(
        lambda t, s: _post(legacy_headers(t, s), {**rpc("tools/call"), "params": "echo"}), 200, INVALID_PARAMS
    ),
    "call-without-name": Probe(
        lambda t, s: _post(legacy_headers(t, s), rpc("tools/call", {"arguments": {}})), 200, INVALID_PARAMS
    ),
    "forged-cursor": Probe(
        lambda t, s: _post(legacy_headers(t, s), rpc("tools/list", {"cursor": "bm9wZQ"})), 200, INVALID_PARAMS
    ),
    "bad-log-level": Probe(
        lambda t, s: _post(legacy_headers(t, s), rpc("logging/setLevel", {"level": "loud"})), 200, INVALID_PARAMS
    ),
    "wrong-http-method": Probe(lambda t, s: ("PUT", legacy_headers(t, s), b"{}"), 405),
    "modern-batch": Probe(
        lambda t, s: _post(modern_request("tools/list", None, t)[0], [modern_request("tools/list")[1]]),
        400,
        INVALID_REQUEST,
    ),
    "modern-missing-meta": Probe(_modern("tools/list", meta=None), 400, INVALID_PARAMS),
    "modern-header-mismatch": Probe(
        _modern("tools/list", headers={"Mcp-Method": "prompts/list"}), 400, HEADER_MISMATCH
    ),
    "modern-name-mismatch": Probe(
        _modern("tools/call", {"name": "ev__echo", "arguments": {}}, headers={"Mcp-Name": "ev__other"}),
        400,
        HEADER_MISMATCH,
    ),
    "modern-unsupported-version": Probe(
        _modern(
            "tools/list",
            headers={"MCP-Protocol-Version": "2099-01-01"},
            meta={
                "io.modelcontextprotocol/protocolVersion": "2099-01-01",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        ),
        400,
        UNSUPPORTED_VERSION,
    ),
    "modern-legacy-only-method": Probe(_modern("ping"), 404, METHOD_NOT_FOUND),
    "modern-unknown-method": Probe(_modern("tools/frobnicate"), 404, METHOD_NOT_FOUND),
    "modern-unknown-tool": Probe(
        _modern("tools/call", {"name": "nope__x", "arguments": {}}, headers={"Mcp-Name": "nope__x"}),
        400,
        INVALID_PARAMS,
    ),
    "modern-get": Probe(lambda t, s: ("GET", {**modern_request("tools/list", None, t)[0]}, b""), 405),
    "bad-authorization-scheme": Probe(
        lambda t, s: _post({**legacy_headers(None), "Authorization": "Basic Zm9vOmJhcg=="}, rpc("ping")), 401
    ),
}


@pytest.fixture(scope="module")
async def session(deployment: Deployment) -> AsyncIterator[str]:
    async with httpx2.AsyncClient(timeout=30) as http:
        yield await open_legacy_session(http, deployment.url, deployment.token)


@pytest.mark.parametrize("name", list(PROBES))
async def test_bad_request_gets_the_spec_error(deployment: Deployment, session: str, name: str) -> None:
    probe = PROBES[name]
    method, headers, body = probe.build(deployment.token, session)
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.request(method, deployment.url, headers=headers, content=body)
        # The gateway keeps serving, the same session included.
        alive = await http.post(
            deployment.url, json=rpc("ping", rid=99), headers=legacy_headers(deployment.token, session)
        )
    assert response.status_code == probe.status, response.text[:500]
    assert "Traceback" not in response.text and 'File "' not in response.text
    if probe.code is not None:
        error = jsonrpc_of(response)["error"]
        assert error["code"] == probe.code, error
        assert isinstance(error["message"], str) and error["message"]
    assert alive.status_code == 200 and jsonrpc_of(alive)["result"] == {}


async def test_errors_keep_the_request_id(deployment: Deployment, session: str) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        legacy = await http.post(
            deployment.url, json=rpc("tools/frobnicate", rid="abc-7"), headers=legacy_headers(deployment.token, session)
        )
        headers, body = modern_request("tools/frobnicate", None, deployment.token)
        modern = await http.post(deployment.url, json={**body, "id": 42}, headers=headers)
    assert jsonrpc_of(legacy)["id"] == "abc-7"
    assert jsonrpc_of(modern)["id"] == 42


async def test_unknown_paths_and_health(deployment: Deployment) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        missing = await http.post(f"{deployment.gw.base}/nowhere", json=rpc("ping"), headers={"Accept": ACCEPT})
        bad_slug = await http.post(
            f"{deployment.gw.base}/mcp/v1/NOT_A_SLUG", json=rpc("ping"), headers=legacy_headers(deployment.token)
        )
        health = await http.get(f"{deployment.gw.base}/healthz", headers=bearer(None))
    assert missing.status_code == 404 and "Traceback" not in missing.text
    assert bad_slug.status_code == 404
    assert health.status_code == 200 and health.json() == {"status": "ok"}
