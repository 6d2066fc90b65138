"""The legacy session era (2025-06-18, 2025-11-25): ``initialize``, sessions, GET and DELETE.

A POSTed request is answered as JSON, or as SSE when something streams
first; a POSTed notification or response gets 202. The session id is an
encrypted token (``session_ids``), so any replica can serve any session.
Every request on a session, whatever it carries, clears the chain's
``EVERY_CALL`` stages first: only the principal that opened a session may use
it, answer on it, stream from it or end it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from msplex import protocol
from msplex.call import Call, SessionBinding
from msplex.errors import Code, RpcError, http_status, response
from msplex.mcp.auth_metadata import challenge
from msplex.mcp.exchange import Exchange
from msplex.mcp.http import Receive, Send, send_empty, send_json, send_problem
from msplex.mcp.session_ids import LegacySession
from msplex.mcp.streams import pump
from msplex.protocol.jsonrpc import JSON, result_response, valid_id

if TYPE_CHECKING:
    from msplex.events import Event
    from msplex.mcp.edge import Edge, Request

__all__ = ["ANSWERED", "END_SESSION", "OPEN_STREAM", "delete", "get_stream", "post"]

log = logging.getLogger("msplex.mcp.legacy")

OPEN_STREAM = "msplex/open-stream"
END_SESSION = "msplex/end-session"
"""How a session-era GET and DELETE are named in the chain (and, later, the audit log)."""
_MODERN_ONLY_KEYS = ("resultType", "ttlMs", "cacheScope")
ANSWERED = frozenset({"initialize", "ping", "logging/setLevel"})
"""Requests of this era the gateway answers itself (after the chain's ``EVERY_CALL`` stages)."""


async def _fail(send: Send, request_id: Any, exc: RpcError, request: Request | None = None) -> None:
    headers = challenge(request, exc) if request is not None else None
    await send_json(send, http_status(exc, "legacy"), response(request_id, exc), headers)


async def post(edge: Edge, request: Request, message: Any, receive: Receive, send: Send) -> None:
    if isinstance(message, list):
        await _fail(send, None, RpcError(Code.MALFORMED, "JSON-RPC batches are not supported"))
        return
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        await _fail(send, None, RpcError(Code.MALFORMED, "Invalid JSON-RPC message"))
        return
    method = message.get("method")
    has_id = "id" in message
    request_id = message.get("id")
    if has_id and not valid_id(request_id):
        await _fail(send, None, RpcError(Code.MALFORMED, "The id must be a string or an integer"))
        return
    if method == "initialize" and has_id:
        await _initialize(edge, request, message, send)
        return
    session = await _session(edge, request, send, request_id)
    if session is None:
        return
    if method is None:
        if has_id and ("result" in message or "error" in message):
            if await _clear(edge, request, session, "response", {}, request_id, send) is not None:
                await edge.sessions.answer(session.sid, message)
                await send_empty(send, 202)
        else:
            await _fail(send, request_id, RpcError(Code.MALFORMED, "Invalid JSON-RPC message"))
        return
    if not isinstance(method, str):
        await _fail(send, request_id, RpcError(Code.MALFORMED, "method must be a string"))
        return
    params = message.get("params")
    if params is None:
        params = {}
    if not has_id:
        if await _clear(edge, request, session, method, {}, None, send) is not None:
            _notification(edge, session, method, params)
            await send_empty(send, 202)
        return
    if not isinstance(params, dict):
        await _fail(send, request_id, RpcError(Code.INVALID_PARAMS, "params must be an object"))
        return
    if method in ("ping", "logging/setLevel"):
        level = params.get("level")
        if method == "logging/setLevel" and level not in protocol.LOG_LEVELS:
            await _fail(send, request_id, RpcError(Code.INVALID_PARAMS, f"unknown log level {level!r}"))
            return
        if await _clear(edge, request, session, method, params, request_id, send) is None:
            return
        if method == "logging/setLevel":
            await edge.sessions.set_level(session.sid, str(level))
        await send_json(send, 200, result_response(request_id, {}))
        return
    await _serve(edge, request, session, method, params, request_id, send)


def _call(
    request: Request,
    session: LegacySession | None,
    method: str,
    params: JSON,
    request_id: Any,
    peer: Exchange,
    *,
    log_level: str | None = None,
    version: str | None = None,
    capabilities: JSON | None = None,
    client_info: JSON | None = None,
) -> Call:
    return Call(
        method=method,
        params=params,
        request_id=request_id,
        era="legacy",
        protocol_version=version or (session.version if session else protocol.LEGACY_VERSION),
        client_capabilities=capabilities if capabilities is not None else (session.capabilities if session else {}),
        peer=peer,
        tenant_slug=request.tenant_slug,
        entity_slug=request.entity_slug,
        credential=request.credential,
        client_info=client_info if client_info is not None else (session.client_info if session else None),
        log_level=log_level,
        session=SessionBinding(session.sid, session.tenant_id, session.principal) if session else None,
        headers=request.headers,
    )


async def _clear(
    edge: Edge, request: Request, session: LegacySession, method: str, params: JSON, request_id: Any, send: Send
) -> Call | None:
    """The chain's ``EVERY_CALL`` stages for something the gateway handles itself; ``None`` once a
    denial has been answered."""
    try:
        call, _ = await edge.chain.run(
            _call(request, session, method, params, request_id, Exchange(send)), answered=True
        )
    except RpcError as exc:
        await _fail(send, request_id, exc)
        return None
    return call


async def _serve(
    edge: Edge,
    request: Request,
    session: LegacySession,
    method: str,
    params: JSON,
    request_id: Any,
    send: Send,
) -> None:
    local = edge.sessions.get(session.sid)
    exchange = Exchange(send, sessions=edge.sessions, sid=session.sid, can_stream=request.accept_sse)
    call = _call(request, session, method, params, request_id, exchange, log_level=local.log_level)
    task = asyncio.current_task()
    key = request_id
    if task is not None:
        local.inflight[key] = task
    status = 200
    headers: list[tuple[bytes, bytes]] = []
    try:
        _, result = await edge.chain.run(call)
        assert result is not None
        _to_legacy(result)
        answer = result_response(request_id, result)
    except RpcError as exc:
        answer = response(request_id, exc)
        status = http_status(exc, "legacy")
        headers = challenge(request, exc)
    except asyncio.CancelledError:
        if task is not None and key in local.cancelled:
            local.cancelled.discard(key)
            task.uncancel()
            await exchange.abandon()
            return
        raise
    finally:
        local.inflight.pop(key, None)
    await exchange.finish(answer, status, headers)


async def _initialize(edge: Edge, request: Request, message: JSON, send: Send) -> None:
    request_id = message.get("id")
    params = message.get("params")
    if not isinstance(params, dict):
        await _fail(send, request_id, RpcError(Code.INVALID_PARAMS, "initialize needs params"))
        return
    requested = params.get("protocolVersion")
    version = requested if requested in protocol.LEGACY_VERSIONS else protocol.LEGACY_VERSION
    caps = params.get("capabilities")
    capabilities: JSON = caps if isinstance(caps, dict) else {}
    info = params.get("clientInfo")
    client_info: JSON | None = info if isinstance(info, dict) else None
    call = _call(
        request,
        None,
        "initialize",
        params,
        request_id,
        Exchange(send),
        version=version,
        capabilities=capabilities,
        client_info=client_info,
    )
    try:
        call, _ = await edge.chain.run(call, answered=True)
    except RpcError as exc:
        await _fail(send, request_id, exc, request)
        return
    tenant, principal = call.tenant, call.principal
    assert tenant is not None and principal is not None
    token, _session = edge.codec.issue(tenant.id, version, capabilities, client_info, principal.key)
    result: JSON = {
        "protocolVersion": version,
        "capabilities": edge.served.capabilities(tenant),
        "serverInfo": edge.served.server_info(tenant, call.entity),
    }
    if instructions := edge.served.instructions(tenant, call.entity):
        result["instructions"] = instructions
    await send_json(send, 200, result_response(request_id, result), [(b"mcp-session-id", token.encode())])


async def _session(edge: Edge, request: Request, send: Send, request_id: Any) -> LegacySession | None:
    token = request.headers.get("mcp-session-id")
    if token is None:
        await _fail(send, request_id, RpcError(Code.SESSION_REQUIRED, "Bad Request: Mcp-Session-Id header is required"))
        return None
    session = edge.codec.open(token)
    if session is None or edge.sessions.ended(session.sid):
        await _fail(send, request_id, RpcError(Code.SESSION_NOT_FOUND, "Session not found"))
        return None
    version = request.headers.get("mcp-protocol-version")
    if version is not None and version not in protocol.LEGACY_VERSIONS:
        await _fail(send, request_id, RpcError(Code.VERSION_HEADER, f"Unsupported protocol version: {version}"))
        return None
    return session


def _to_legacy(result: JSON) -> None:
    """Drop what only a 2026-07-28 upstream adds (result type, cache hints, its serverInfo stamp)."""
    for k in _MODERN_ONLY_KEYS:
        result.pop(k, None)
    meta = result.get("_meta")
    if isinstance(meta, dict) and protocol.SERVER_INFO_META in meta:
        rest = {k: v for k, v in meta.items() if k != protocol.SERVER_INFO_META}
        if rest:
            result["_meta"] = rest
        else:
            del result["_meta"]


def _notification(edge: Edge, session: LegacySession, method: str, params: Any) -> None:
    if method == "notifications/cancelled" and isinstance(params, dict):
        local = edge.sessions.get(session.sid)
        key = params.get("requestId")
        task = local.inflight.get(key) if valid_id(key) else None
        if task is not None:
            local.cancelled.add(key)
            task.cancel()


async def get_stream(edge: Edge, request: Request, receive: Receive, send: Send) -> None:
    """The standalone stream: list changes and updates of subscribed resources."""
    if not request.accept_sse:
        await send_empty(send, 406)
        return
    session = await _session(edge, request, send, None)
    if session is None:
        return
    cleared = await _clear(edge, request, session, OPEN_STREAM, {}, None, send)
    if cleared is None or cleared.principal is None:
        return
    tenant_id, sid = session.tenant_id, session.sid
    local = edge.sessions.get(sid)
    queue: asyncio.Queue[JSON | None] = asyncio.Queue()
    local.streams.add(queue)
    edge.streams[queue] = cleared.principal

    def render(event: Event) -> JSON | None:
        if event.tenant_id != tenant_id:
            return None
        if event.kind == "updated":
            subscriptions = edge.served.subscriptions(tenant_id)
            if subscriptions is None or not subscriptions.is_subscribed(event.uri or "", sid):
                return None
            return {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": event.uri}}
        return {"jsonrpc": "2.0", "method": protocol.LIST_CHANGED[event.kind]}

    try:
        await pump(edge.served.listen, receive, send, render, queue)
    finally:
        local.streams.discard(queue)
        edge.streams.pop(queue, None)


async def delete(edge: Edge, request: Request, send: Send) -> None:
    session = await _session(edge, request, send, None)
    if session is None or await _clear(edge, request, session, END_SESSION, {}, None, send) is None:
        return
    try:
        await edge.sessions.end(session.sid)
        if edge.on_session_ended is not None:
            await edge.on_session_ended(session.sid, session.tenant_id)
    except Exception:
        log.exception("could not share or record the end of a session")
        await send_problem(send, 503, "Service Unavailable", "the session ended here but not on every replica")
        return
    subscriptions = edge.served.subscriptions(session.tenant_id)
    if subscriptions is not None:
        await subscriptions.drop(session.sid)
    await send_empty(send, 200)
