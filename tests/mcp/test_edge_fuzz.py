"""Whatever a client sends, the edge answers with a 2xx or a 4xx and a well-formed body, never a 5xx.

Drives the real edge (ASGI callable, real chain, a real tenant and token) with generated
messages; there is no upstream, so everything that passes the checks ends at the tenant's
empty catalogue or at an unknown name.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msplex.mcp.edge import Edge
from support.inproc import InProcess, snapshot, start

TOKEN = "mspx_fuzz"
MODERN = "2026-07-28"
METHODS = [
    "initialize", "ping", "tools/list", "tools/call", "resources/read", "resources/subscribe", "prompts/get",
    "completion/complete", "logging/setLevel", "server/discover", "subscriptions/listen", "notifications/cancelled",
    "unknown/method",
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
params = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=20) | json_values,
        "uri": st.text(max_size=20),
        "cursor": st.text(max_size=30) | json_values,
        "level": st.sampled_from(["debug", "info", "bogus"]),
        "_meta": st.fixed_dictionaries(
            {},
            optional={
                "io.modelcontextprotocol/protocolVersion": st.sampled_from([MODERN, "2025-11-25", "1999-01-01"]),
                "io.modelcontextprotocol/clientCapabilities": json_values,
            },
        ),
        "arguments": json_values,
        "requestState": st.text(max_size=40),
    },
)
messages = st.one_of(
    st.fixed_dictionaries(
        {"jsonrpc": st.sampled_from(["2.0", "1.0"]), "method": st.sampled_from(METHODS) | json_values},
        optional={
            "id": st.integers() | st.text(max_size=8) | st.none() | st.booleans(),
            "params": params | json_values,
        },
    ),
    json_values,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "mcp-protocol-version": st.sampled_from([MODERN, "2025-11-25", "2025-06-18", "garbage"]),
        "mcp-method": st.sampled_from(METHODS),
        "mcp-name": st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
        "mcp-session-id": st.text(alphabet="abcdefABCDEF0123456789-_", max_size=60),
        "authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer nope", "Basic x", ""]),
    },
)


@st.composite
def coherent(draw: st.DrawFn) -> tuple[Any, dict[str, str], str]:
    """A request that passes the transport checks in one era, with generated params: gets deep."""
    method = draw(st.sampled_from(METHODS))
    request_params = draw(params)
    extra = {"authorization": f"Bearer {TOKEN}"}
    era = draw(st.sampled_from(["modern", "legacy"]))
    if era == "modern":
        meta = request_params.setdefault("_meta", {})
        meta["io.modelcontextprotocol/protocolVersion"] = MODERN
        meta.setdefault("io.modelcontextprotocol/clientCapabilities", {})
        extra |= {"mcp-protocol-version": MODERN, "mcp-method": method}
        name = request_params.get("uri" if method == "resources/read" else "name")
        if isinstance(name, str) and name.isascii() and name.isprintable():
            extra["mcp-name"] = name
    else:
        extra |= {"mcp-protocol-version": "2025-11-25", "mcp-session-id": "LEGACY"}
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": request_params}
    if draw(st.booleans()) or method != "notifications/cancelled":
        message["id"] = draw(st.integers(0, 2**31) | st.text(max_size=8))
    return message, extra, "/mcp/v1/acme"


async def _with_gateway(work: Callable[[InProcess], Awaitable[None]]) -> None:
    gateway = await start(snapshot([("t1", "acme", False)], {TOKEN: ("t1", "k1")}))
    try:
        await work(gateway)
    finally:
        await gateway.close()


async def _post(edge: Edge, path: str, body: bytes, extra: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    raw = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]
    raw.append((b"accept", b"application/json, text/event-stream"))
    raw += [(k.encode(), v.encode()) for k, v in extra.items()]
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(0.3)  # then the client goes away: ends streams such as subscriptions/listen
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": raw}
    await asyncio.wait_for(edge(scope, receive, send), 5)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], payload, {k.decode(): v.decode() for k, v in start["headers"]}


def _well_formed(status: int, payload: bytes, response_headers: dict[str, str]) -> None:
    assert status < 500, (status, payload)
    kind = response_headers.get("content-type", "")
    if status == 202:
        assert payload == b""
    elif kind.startswith("application/json"):
        doc = orjson.loads(payload)
        assert ("result" in doc) != ("error" in doc), doc
        if "error" in doc:
            assert isinstance(doc["error"]["code"], int) and doc["error"]["message"]
            assert "Traceback" not in doc["error"]["message"]
    elif kind.startswith("application/problem+json"):
        assert orjson.loads(payload)["status"] == status
    elif kind.startswith("text/event-stream"):
        assert status == 200 and (payload.startswith((b":", b"event:", b"id:")) or payload == b"")
    else:
        assert status in (405, 406), (status, response_headers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=messages, extra=headers, path=st.sampled_from(["/mcp", "/mcp/v1/acme", "/mcp/v1/other"]))
def test_generated_messages_never_break_the_edge(message: Any, extra: dict[str, str], path: str) -> None:
    async def run(gateway: InProcess) -> None:
        status, payload, response_headers = await _post(gateway.edge, path, json.dumps(message).encode(), extra)
        _well_formed(status, payload, response_headers)

    asyncio.run(_with_gateway(run))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=coherent())
def test_coherent_requests_with_generated_params_never_break_the_edge(case: tuple[Any, dict[str, str], str]) -> None:
    message, extra, path = case

    async def run(gateway: InProcess) -> None:
        if extra.get("mcp-session-id") == "LEGACY":
            session, _ = gateway.codec.issue("t1", "2025-11-25", {"sampling": {}}, None, "token:k1")
            extra["mcp-session-id"] = session
        status, payload, response_headers = await _post(gateway.edge, path, json.dumps(message).encode(), extra)
        _well_formed(status, payload, response_headers)

    asyncio.run(_with_gateway(run))


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_get_a_parse_error_not_a_crash(body: bytes) -> None:
    async def run(gateway: InProcess) -> None:
        status, payload, response_headers = await _post(gateway.edge, "/mcp/v1/acme", body, {})
        _well_formed(status, payload, response_headers)

    asyncio.run(_with_gateway(run))
