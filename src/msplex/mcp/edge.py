"""The ASGI application at the MCP paths: transport checks, then one era or the other.

Routes: ``/mcp`` (tenant from the token), ``/mcp/v1/{tenant}``, ``/healthz``.
Per request, in order: path, ``Host``/``Origin``, method, body size, JSON;
then the 2026-07-28 handler when the ``MCP-Protocol-Version`` header names a
modern revision (or a request carries the modern envelope without a session),
else the legacy session handler. Nothing here decides who may do what: every
request, including a session-era stream, DELETE, notification or answer, goes
through the chain (``Chain.run``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from msplex import protocol
from msplex.call import Credential
from msplex.errors import Code, RpcError, response
from msplex.mcp import legacy, modern
from msplex.mcp.http import (
    BODY_TIMEOUT_SECONDS,
    Receive,
    Scope,
    Send,
    TooLarge,
    TooSlow,
    read_body,
    send_empty,
    send_json,
    send_problem,
)
from msplex.mcp.session_ids import SessionCodec
from msplex.protocol.jsonrpc import JSON

if TYPE_CHECKING:
    from msplex.chain import Chain
    from msplex.connectors.upstream.subscriptions import Subscriptions
    from msplex.events import Listener
    from msplex.mcp.session_state import SessionState
    from msplex.store.records import TenantRecord

__all__ = ["Edge", "Request", "Served"]

_TENANT_PATH = re.compile(r"^/mcp/v1/([a-z][a-z0-9-]{0,62})/?$")


class Served(Protocol):
    """What the edge needs from the gateway beyond the chain: how a tenant's server presents itself,
    its change events, and its resource subscriptions."""

    def server_info(self, tenant: TenantRecord) -> JSON: ...

    def capabilities(self, tenant: TenantRecord) -> JSON: ...

    def instructions(self, tenant: TenantRecord) -> str | None: ...

    def listen(self, listener: Listener) -> Callable[[], None]: ...

    def subscriptions(self, tenant_id: str) -> Subscriptions | None: ...


class Request:
    """What the era handlers need from the HTTP request, parsed once."""

    __slots__ = ("accept_json", "accept_sse", "auth_malformed", "credential", "headers", "raw_headers", "tenant_slug")

    def __init__(self, scope: Scope, tenant_slug: str | None) -> None:
        self.raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers: dict[str, str] = {}
        for key, value in self.raw_headers:
            headers[key.decode("latin-1")] = value.decode("latin-1").strip()
        self.headers = headers
        self.tenant_slug = tenant_slug
        accept = headers.get("accept", "")
        wildcard = "*/*" in accept  # a missing Accept is not a wildcard: the spec requires one (406)
        self.accept_json = wildcard or "application/json" in accept
        self.accept_sse = wildcard or "text/event-stream" in accept
        auth = headers.get("authorization")
        self.credential: Credential | None = None
        self.auth_malformed = False
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token:
                self.credential = Credential(token)
            else:
                self.auth_malformed = True


class Edge:
    def __init__(
        self,
        chain: Chain,
        served: Served,
        sessions: SessionState,
        codec: SessionCodec,
        *,
        host_allowed: Callable[[str], bool],
        origin_allowed: Callable[[str], bool],
        max_body_bytes: int,
        body_timeout_seconds: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.chain = chain
        self.served = served
        self.sessions = sessions
        self.codec = codec
        self._host_allowed = host_allowed
        self._origin_allowed = origin_allowed
        self._verdicts: dict[tuple[str, str | None], bool] = {}
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        """How long a request body may take to arrive (``MSPLEX_BODY_TIMEOUT_SECONDS``): then 408."""
        self.on_session_ended: Callable[[str, str], Awaitable[None]] | None = None
        """Told (session id, tenant id) when a client ends its session: the durable record."""

    def _transport_ok(self, host: str | None, origin: str | None) -> bool:
        """DNS-rebinding protection, memoised: the set of Host/Origin pairs seen is small."""
        key = (host or "", origin)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = host is not None and self._host_allowed(host) and (origin is None or self._origin_allowed(origin))
            if len(self._verdicts) < 4096:
                self._verdicts[key] = verdict
        return verdict

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path in ("/mcp", "/mcp/"):
            slug = None
        elif (match := _TENANT_PATH.match(path)) is not None:
            slug = match.group(1)
        elif path == "/healthz":
            await send_json(send, 200, {"status": "ok"})
            return
        else:
            await send_problem(send, 404, "Not Found", f"nothing is served at {path}")
            return
        request = Request(scope, slug)
        host, origin = request.headers.get("host"), request.headers.get("origin")
        if not self._transport_ok(host, origin):
            if host is None or not self._host_allowed(host):
                await send_problem(send, 421, "Misdirected Request", "the Host header is not one this gateway serves")
            else:
                await send_problem(send, 403, "Forbidden", "the Origin header is not allowed")
            return
        if request.auth_malformed:
            await send_problem(send, 401, "Unauthorized", "the Authorization header must be 'Bearer <token>'")
            return
        method = scope["method"]
        modern_version = request.headers.get("mcp-protocol-version") in protocol.MODERN_VERSIONS
        if method == "POST":
            await self._post(receive, send, request)
        elif method in ("GET", "DELETE") and modern_version:
            await send_empty(send, 405, [(b"allow", b"POST")])
        elif method == "GET":
            await legacy.get_stream(self, request, receive, send)
        elif method == "DELETE":
            await legacy.delete(self, request, send)
        else:
            await send_empty(send, 405, [(b"allow", b"GET, POST, DELETE")])

    async def _post(self, receive: Receive, send: Send, request: Request) -> None:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            await send_problem(send, 415, "Unsupported Media Type", "POST bodies must be application/json")
            return
        if not request.accept_json:
            await send_problem(send, 406, "Not Acceptable", "Accept must include application/json")
            return
        try:
            body = await read_body(receive, self.max_body_bytes, self.body_timeout_seconds)
        except TooLarge:
            await send_problem(send, 413, "Content Too Large", f"the body exceeds {self.max_body_bytes} bytes")
            return
        except TooSlow:
            detail = f"the body did not arrive within {self.body_timeout_seconds:g} s"
            await send_problem(send, 408, "Request Timeout", detail, [(b"connection", b"close")])
            return
        try:
            message: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            await send_json(send, 400, response(None, RpcError(Code.PARSE_ERROR, "Parse error: invalid JSON")))
            return
        if _is_modern(request.headers, message):
            await modern.post(self, request, message, receive, send)
        else:
            await legacy.post(self, request, message, receive, send)


def _is_modern(headers: dict[str, str], message: Any) -> bool:
    """Which era answers: a modern version header decides; without a recognised legacy version
    (and outside a legacy session), so does a body carrying the 2026-07-28 envelope, which lets
    the modern ladder reject a bad header with the spec's modern error."""
    version = headers.get("mcp-protocol-version")
    if version in protocol.MODERN_VERSIONS:
        return True
    if version is None and "mcp-session-id" in headers:
        return False
    return version not in protocol.LEGACY_VERSIONS and _has_modern_envelope(message)


def _has_modern_envelope(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    if message.get("method") == "server/discover":
        return True
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and protocol.PROTOCOL_VERSION_META in meta
