"""The ASGI application at the MCP paths: transport checks, then one era or the other.

Routes: ``/mcp`` (tenant from the token), ``/mcp/v1/{tenant}``, ``/healthz``.
Per request, in order: path, ``Host``/``Origin``, method, body size, JSON;
then the 2026-07-28 handler when the ``MCP-Protocol-Version`` header names a
modern revision (or a request carries the modern envelope without a session),
else the legacy session handler. Nothing here decides who may do what: the
chain does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from msplex.crypto import token_digest
from msplex.mcp import legacy, modern, wire
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
from msplex.mcp.sessions import SessionCodec, SessionLocal

if TYPE_CHECKING:
    from msplex.federation.gateway import Gateway

__all__ = ["Edge", "Request"]

_TENANT_PATH = re.compile(r"^/mcp/v1/([a-z][a-z0-9-]{0,62})/?$")


class Request:
    """What the era handlers need from the HTTP request, parsed once."""

    __slots__ = (
        "accept_json",
        "accept_sse",
        "auth_malformed",
        "bearer_digest",
        "headers",
        "raw_headers",
        "tenant_slug",
    )

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
        self.bearer_digest: str | None = None
        """The token's digest: hashed once here, the plaintext goes no further."""
        self.auth_malformed = False
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token:
                self.bearer_digest = token_digest(token)
            else:
                self.auth_malformed = True


class Edge:
    body_timeout_seconds: float = BODY_TIMEOUT_SECONDS
    """How long a request body may take to arrive (``MSPLEX_BODY_TIMEOUT_SECONDS``, set by ``server.run``)."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        host_allowed: Callable[[str], bool],
        origin_allowed: Callable[[str], bool],
        max_body_bytes: int,
    ) -> None:
        self.gateway = gateway
        self.codec = SessionCodec(gateway.keyring)
        self.local = SessionLocal()
        self._host_allowed = host_allowed
        self._origin_allowed = origin_allowed
        self._verdicts: dict[tuple[str, str | None], bool] = {}
        self.max_body_bytes = max_body_bytes
        self.on_session_ended: Callable[[str, str], Awaitable[None]] | None = None
        """Told (session id, tenant id) when a client ends its session, so other replicas refuse it too."""

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
            await send_problem(
                send,
                401,
                "Unauthorized",
                "the Authorization header must be 'Bearer <token>'",
                _www_authenticate(),
            )
            return
        method = scope["method"]
        if method == "POST":
            await self._post(scope, receive, send, request)
        elif method == "GET":
            if request.headers.get("mcp-protocol-version") in wire.MODERN_VERSIONS:
                await send_empty(send, 405, [(b"allow", b"POST")])
            else:
                await legacy.get_stream(self, request, receive, send)
        elif method == "DELETE":
            if request.headers.get("mcp-protocol-version") in wire.MODERN_VERSIONS:
                await send_empty(send, 405, [(b"allow", b"POST")])
            else:
                await legacy.delete(self, request, send)
        else:
            await send_empty(send, 405, [(b"allow", b"GET, POST, DELETE")])

    async def _post(self, scope: Scope, receive: Receive, send: Send, request: Request) -> None:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            await send_problem(send, 415, "Unsupported Media Type", "POST bodies must be application/json")
            return
        if not request.accept_json or not request.accept_sse:
            await send_problem(
                send, 406, "Not Acceptable", "Accept must include application/json and text/event-stream"
            )
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
            await send_json(send, 400, wire.error_response(None, wire.PARSE_ERROR, "Parse error: invalid JSON"))
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
    if version in wire.MODERN_VERSIONS:
        return True
    if version is None and "mcp-session-id" in headers:
        return False
    return version not in wire.LEGACY_VERSIONS and _has_modern_envelope(message)


def _has_modern_envelope(message: Any) -> bool:
    if not isinstance(message, dict):
        return False
    if message.get("method") == "server/discover":
        return True
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and wire.PROTOCOL_VERSION_META in meta


def _www_authenticate() -> list[tuple[bytes, bytes]]:
    return [(b"www-authenticate", b'Bearer realm="msplex"')]
