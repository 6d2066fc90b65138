"""The legacy session era (2025-06-18, 2025-11-25): ``initialize``, sessions, GET and DELETE.

A POSTed request is answered as JSON, or as SSE when something streams
first; a POSTed notification or response gets 202. The session id is an
encrypted token (``sessions``), so any replica can serve any session. A
request must present the credential that opened its session.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from msplex import chain
from msplex.call import Call
from msplex.errors import Denied, RpcError
from msplex.federation.forward import LOG_LEVELS
from msplex.mcp import wire
from msplex.mcp.exchange import Exchange
from msplex.mcp.http import Receive, Send, send_empty, send_json, send_problem
from msplex.mcp.sessions import LegacySession, tag_of_digest
from msplex.mcp.streams import LIST_CHANGED, pump

if TYPE_CHECKING:
    from msplex.federation.events import Event
    from msplex.mcp.edge import Edge, Request

__all__ = ["delete", "get_stream", "post"]

log = logging.getLogger("msplex.mcp.legacy")

JSON = dict[str, Any]
_MODERN_ONLY_KEYS = ("resultType", "ttlMs", "cacheScope")


async def post(edge: Edge, request: Request, message: Any, receive: Receive, send: Send) -> None:
    if isinstance(message, list):
        await send_json(
            send, 400, wire.error_response(None, wire.INVALID_REQUEST, "JSON-RPC batches are not supported")
        )
        return
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        await send_json(send, 400, wire.error_response(None, wire.INVALID_REQUEST, "Invalid JSON-RPC message"))
        return
    method = message.get("method")
    has_id = "id" in message
    request_id = message.get("id")
    if method == "initialize" and has_id:
        await _initialize(edge, request, message, send)
        return
    session = await _session(edge, request, send, request_id)
    if session is None:
        return
    if method is None:
        if has_id and ("result" in message or "error" in message):
            _answer(edge, session, message)
            await send_empty(send, 202)
        else:
            await send_json(
                send, 400, wire.error_response(request_id, wire.INVALID_REQUEST, "Invalid JSON-RPC message")
            )
        return
    if not isinstance(method, str):
        await send_json(send, 400, wire.error_response(request_id, wire.INVALID_REQUEST, "method must be a string"))
        return
    if not has_id:
        _notification(edge, session, method, message.get("params"))
        await send_empty(send, 202)
        return
    params = message.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        await send_json(send, 200, wire.error_response(request_id, wire.INVALID_PARAMS, "params must be an object"))
        return
    if method == "ping":
        await send_json(send, 200, wire.result_response(request_id, {}))
        return
    if method == "logging/setLevel":
        level = params.get("level")
        if level not in LOG_LEVELS:
            await send_json(
                send,
                200,
                wire.error_response(request_id, wire.INVALID_PARAMS, f"unknown log level {level!r}"),
            )
            return
        edge.local.get(session.sid).log_level = level
        await send_json(send, 200, wire.result_response(request_id, {}))
        return
    await _serve(edge, request, session, method, params, request_id, send)


async def _serve(
    edge: Edge,
    request: Request,
    session: LegacySession,
    method: str,
    params: JSON,
    request_id: Any,
    send: Send,
) -> None:
    local = edge.local.get(session.sid)
    exchange = Exchange(send, local=edge.local, sid=session.sid, can_request=True)
    call = Call(
        method=method,
        params=params,
        request_id=request_id,
        era="legacy",
        protocol_version=session.version,
        client_capabilities=session.capabilities,
        peer=exchange,
        tenant_slug=request.tenant_slug,
        bearer_digest=request.bearer_digest,
        client_info=session.client_info,
        log_level=local.log_level,
        session_id=session.sid,
        session_tenant_id=session.tenant_id,
        headers=request.headers,
    )
    task = asyncio.current_task()
    key = _key(request_id)
    if task is not None:
        local.inflight[key] = task
    status = 200
    try:
        _, result = await chain.run(call, edge.gateway)
        _to_legacy(result)
        response = wire.result_response(request_id, result)
    except RpcError as exc:
        response = {"jsonrpc": "2.0", "id": request_id, "error": exc.to_wire()}
        if isinstance(exc, Denied) and exc.http_status is not None:
            status = exc.http_status
    except asyncio.CancelledError:
        if task is not None and key in local.cancelled:
            local.cancelled.discard(key)
            task.uncancel()
            await exchange.abandon()
            return
        raise
    finally:
        local.inflight.pop(key, None)
    await exchange.finish(response, status)


async def _initialize(edge: Edge, request: Request, message: JSON, send: Send) -> None:
    request_id = message.get("id")
    params = message.get("params")
    if not isinstance(params, dict):
        await send_json(send, 200, wire.error_response(request_id, wire.INVALID_PARAMS, "initialize needs params"))
        return
    requested = params.get("protocolVersion")
    version = requested if requested in wire.LEGACY_VERSIONS else wire.LEGACY_VERSIONS[0]
    capabilities = params.get("capabilities") if isinstance(params.get("capabilities"), dict) else {}
    client_info = params.get("clientInfo") if isinstance(params.get("clientInfo"), dict) else None
    call = Call(
        method="initialize",
        params=params,
        request_id=request_id,
        era="legacy",
        protocol_version=version,
        client_capabilities=capabilities,
        peer=Exchange(send),
        tenant_slug=request.tenant_slug,
        bearer_digest=request.bearer_digest,
        client_info=client_info,
    )
    try:
        call = await chain.clear(call, edge.gateway)
    except RpcError as exc:
        status = exc.http_status if isinstance(exc, Denied) and exc.http_status else 200
        await send_json(send, status, {"jsonrpc": "2.0", "id": request_id, "error": exc.to_wire()})
        return
    tenant = call.tenant
    assert tenant is not None
    token, _session = edge.codec.issue(
        tenant.id, version, capabilities, client_info, tag_of_digest(request.bearer_digest)
    )
    result: JSON = {
        "protocolVersion": version,
        "capabilities": tenant.capabilities(),
        "serverInfo": edge.gateway.server_info_for(tenant),
    }
    if tenant.instructions:
        result["instructions"] = tenant.instructions
    await send_json(send, 200, wire.result_response(request_id, result), [(b"mcp-session-id", token.encode())])


async def _session(edge: Edge, request: Request, send: Send, request_id: Any) -> LegacySession | None:
    token = request.headers.get("mcp-session-id")
    if token is None:
        await send_json(
            send,
            400,
            wire.error_response(request_id, wire.INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required"),
        )
        return None
    session = edge.codec.open(token)
    if session is None or edge.local.ended(session.sid) or session.credential != tag_of_digest(request.bearer_digest):
        await send_json(send, 404, wire.error_response(request_id, wire.INVALID_REQUEST, "Session not found"))
        return None
    version = request.headers.get("mcp-protocol-version")
    if version is not None and version not in wire.LEGACY_VERSIONS:
        await send_json(
            send,
            400,
            wire.error_response(request_id, wire.INVALID_REQUEST, f"Unsupported protocol version: {version}"),
        )
        return None
    return session


def _to_legacy(result: JSON) -> None:
    """Drop what only a 2026-07-28 upstream adds (result type, cache hints, its serverInfo stamp)."""
    for k in _MODERN_ONLY_KEYS:
        result.pop(k, None)
    meta = result.get("_meta")
    if isinstance(meta, dict) and wire.SERVER_INFO_META in meta:
        rest = {k: v for k, v in meta.items() if k != wire.SERVER_INFO_META}
        if rest:
            result["_meta"] = rest
        else:
            del result["_meta"]


def _key(request_id: Any) -> Any:
    return request_id if isinstance(request_id, (str, int)) else repr(request_id)


def _answer(edge: Edge, session: LegacySession, message: JSON) -> None:
    entry = edge.local.pending.get(message.get("id"))  # type: ignore[arg-type]
    if entry is None:
        return
    sid, future = entry
    if sid != session.sid or future.done():
        return
    if "error" in message:
        future.set_result({"error": message["error"]})
    else:
        future.set_result({"result": message.get("result")})


def _notification(edge: Edge, session: LegacySession, method: str, params: Any) -> None:
    if method == "notifications/cancelled" and isinstance(params, dict):
        local = edge.local.get(session.sid)
        key = _key(params.get("requestId"))
        task = local.inflight.get(key)
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
    tenant_id, sid = session.tenant_id, session.sid
    local = edge.local.get(sid)
    queue: asyncio.Queue[JSON | None] = asyncio.Queue()
    local.streams.add(queue)

    def render(event: Event) -> JSON | None:
        if event.tenant_id != tenant_id:
            return None
        if event.kind == "updated":
            runtime = edge.gateway.tenant_by_id(tenant_id)
            if runtime is None or not runtime.is_subscribed(event.uri or "", sid):
                return None
            return {
                "jsonrpc": "2.0",
                "method": "notifications/resources/updated",
                "params": {"uri": event.uri},
            }
        return {"jsonrpc": "2.0", "method": LIST_CHANGED[event.kind]}

    try:
        await pump(edge.gateway, receive, send, render, queue)
    finally:
        local.streams.discard(queue)


async def delete(edge: Edge, request: Request, send: Send) -> None:
    session = await _session(edge, request, send, None)
    if session is None:
        return
    edge.local.end(session.sid)
    if edge.on_session_ended is not None:
        try:
            await edge.on_session_ended(session.sid, session.tenant_id)
        except Exception:
            log.exception("could not share the end of a session with other replicas")
            await send_problem(send, 503, "Service Unavailable", "the session ended here but not on every replica")
            return
    runtime = edge.gateway.tenant_by_id(session.tenant_id)
    if runtime is not None:
        await runtime.drop_subscriber(session.sid)
    await send_empty(send, 200)
