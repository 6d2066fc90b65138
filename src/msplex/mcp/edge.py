"""The ASGI application at the MCP paths: transport checks, then one era or the other.

Routes: ``/mcp`` (tenant from the token), ``/mcp/v1/{tenant}``, ``/mcp/entities/{slug}``
(a branded endpoint), their protected-resource metadata under
``/.well-known/oauth-protected-resource``, ``/healthz``; any path under ``/admin/`` is
handed, after the ``Host``/``Origin`` check, to the admin app the edge was given
(``msplex.admin``), only once the path is known not to be an MCP endpoint.
Per request, in order: path, ``Host``/``Origin``, method, body size, JSON;
then the 2026-07-28 handler when the ``MCP-Protocol-Version`` header names a
modern revision (or a request carries the modern envelope without a session),
else the legacy session handler. Nothing here decides who may do what: every
request, including a session-era stream, DELETE, notification or answer, goes
through the chain (``Chain.run``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from msplex import protocol
from msplex.call import Credential, Principal
from msplex.errors import Code, RpcError, response
from msplex.mcp import legacy, modern
from msplex.mcp.auth_metadata import AS_PATHS, PRM_PREFIX, not_an_authorization_server, protected_resource
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
    from msplex.call import Call
    from msplex.chain import Chain
    from msplex.connectors.upstream.subscriptions import Subscriptions
    from msplex.events import Listener
    from msplex.mcp.session_state import SessionState
    from msplex.store.records import EntityRecord, TenantRecord

__all__ = ["Edge", "Request", "Served"]

_ENDPOINT = re.compile(r"^/mcp(?:/v1/(?P<tenant>[a-z][a-z0-9-]{0,62})|/entities/(?P<entity>[a-z][a-z0-9-]{0,62}))?/?$")


class Served(Protocol):
    """What the edge needs from the gateway beyond the chain: how a tenant's server presents itself,
    its change events, and its resource subscriptions."""

    def server_info(self, tenant: TenantRecord, entity: EntityRecord | None = None) -> JSON: ...

    def capabilities(self, tenant: TenantRecord) -> JSON: ...

    def instructions(self, tenant: TenantRecord, entity: EntityRecord | None = None) -> str | None: ...

    def issuers(self, endpoint: str) -> list[str]:
        """The authorization servers whose tokens the MCP endpoint at path ``endpoint`` accepts."""
        ...

    def may_see_uri(self, call: Call, uri: str) -> bool:
        """Whether the caller may see the resource at ``uri``."""
        ...

    def listen(self, listener: Listener) -> Callable[[], None]: ...

    def subscriptions(self, tenant_id: str) -> Subscriptions | None: ...


class Request:
    """What the era handlers need from the HTTP request, parsed once."""

    __slots__ = (
        "accept_json",
        "accept_sse",
        "auth_malformed",
        "credential",
        "entity_slug",
        "headers",
        "raw_headers",
        "resource_metadata",
        "tenant_slug",
    )

    def __init__(
        self, scope: Scope, tenant_slug: str | None, entity_slug: str | None = None, resource_metadata: str = ""
    ) -> None:
        self.raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        headers: dict[str, str] = {}
        for key, value in self.raw_headers:
            headers[key.decode("latin-1")] = value.decode("latin-1").strip()
        self.headers = headers
        self.tenant_slug = tenant_slug
        self.entity_slug = entity_slug
        self.resource_metadata = resource_metadata
        """The URL of this endpoint's protected-resource metadata (for ``WWW-Authenticate``)."""
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
        public_url: str = "http://127.0.0.1",
        admin: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None,
    ) -> None:
        self.chain = chain
        self.served = served
        self.sessions = sessions
        self.codec = codec
        self._host_allowed = host_allowed
        self._origin_allowed = origin_allowed
        self._verdicts: dict[tuple[str, str | None], bool] = {}
        self.max_body_bytes = max_body_bytes
        self.public_url = public_url.rstrip("/")
        self.body_timeout_seconds = body_timeout_seconds
        """How long a request body may take to arrive (``MSPLEX_BODY_TIMEOUT_SECONDS``): then 408."""
        self.streams: dict[asyncio.Queue[JSON | None], Principal] = {}
        """Open server-to-client streams and whose they are: a revoked credential's are closed."""
        self.on_session_ended: Callable[[str, str], Awaitable[None]] | None = None
        """Told (session id, tenant id) when a client ends its session: the durable record."""
        self.admin = admin
        """The admin API (an ASGI app) for paths under ``/admin/``; without one they are 404."""

    def revalidate(self, still_valid: Callable[[Principal], bool]) -> int:
        """Close the streams of principals whose credential no longer holds; how many were closed."""
        gone = [queue for queue, principal in self.streams.items() if not still_valid(principal)]
        for queue in gone:
            del self.streams[queue]
            queue.put_nowait(None)
        return len(gone)

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
        match = _ENDPOINT.match(path)
        if match is None:
            await self._elsewhere(scope, receive, send)
            return
        endpoint = path.rstrip("/")
        request = Request(
            scope, match.group("tenant"), match.group("entity"), f"{self.public_url}{PRM_PREFIX}{endpoint}"
        )
        host, origin = request.headers.get("host"), request.headers.get("origin")
        if not self._transport_ok(host, origin):
            if host is None or not self._host_allowed(host):
                await send_problem(send, 421, "Misdirected Request", "the Host header is not one this gateway serves")
            else:
                await send_problem(send, 403, "Forbidden", "the Origin header is not allowed")
            return
        if request.auth_malformed:
            header = f'Bearer resource_metadata="{request.resource_metadata}", error="invalid_request"'
            detail = "the Authorization header must be 'Bearer <token>'"
            await send_problem(send, 401, "Unauthorized", detail, [(b"www-authenticate", header.encode())])
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

    async def _elsewhere(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Everything but an MCP endpoint: health, the admin API, protected-resource metadata, OAuth paths, 404."""
        path: str = scope["path"]
        if path == "/healthz":
            await send_json(send, 200, {"status": "ok"})
        elif path.startswith("/admin/") and self.admin is not None:
            await self._admin(self.admin, scope, receive, send)
        elif path.startswith(PRM_PREFIX) and _ENDPOINT.match(endpoint := path[len(PRM_PREFIX) :] or "/mcp"):
            await protected_resource(send, self.public_url, endpoint.rstrip("/"), self.served.issuers)
        elif AS_PATHS.match(path):
            await not_an_authorization_server(send, path)
        else:
            await send_problem(send, 404, "Not Found", f"nothing is served at {path}")

    async def _admin(
        self, admin: Callable[[Scope, Receive, Send], Awaitable[None]], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The admin API, behind the same DNS-rebinding check as the MCP endpoints."""
        host = origin = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1").strip()
            elif key == b"origin":
                origin = value.decode("latin-1").strip()
        if not self._transport_ok(host, origin):
            if host is None or not self._host_allowed(host):
                await send_problem(send, 421, "Misdirected Request", "the Host header is not one this gateway serves")
            else:
                await send_problem(send, 403, "Forbidden", "the Origin header is not allowed")
            return
        await admin(scope, receive, send)

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
