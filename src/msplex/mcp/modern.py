"""The stateless 2026-07-28 era: one self-contained POST per request.

The validation ladder runs before anything else, in the spec's order:
envelope (``_meta`` with version and client capabilities; -32602), routing
headers against the body (``MCP-Protocol-Version``, ``Mcp-Method``,
``Mcp-Name``; -32020), supported version (-32022). Legacy-only methods get
404/-32601. Errors carry the request id and the spec's HTTP status. Closing
the response stream cancels the call, all the way upstream.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from msplex import protocol
from msplex.call import Call
from msplex.errors import Code, RpcError, http_status, response
from msplex.mcp.auth_metadata import challenge
from msplex.mcp.exchange import Exchange
from msplex.mcp.http import Receive, Send, send_empty, send_json
from msplex.mcp.streams import pump
from msplex.protocol.headers import decode_header_value
from msplex.protocol.jsonrpc import JSON, result_response, valid_id

if TYPE_CHECKING:
    from msplex.events import Event
    from msplex.mcp.edge import Edge, Request

__all__ = ["ANSWERED", "LIST_TTL_MS", "post"]

_ROUTING_HEADERS = (b"mcp-protocol-version", b"mcp-method", b"mcp-name")
ANSWERED = frozenset({"server/discover", "subscriptions/listen"})
"""Requests of this era the gateway answers itself (after the chain's ``EVERY_CALL`` stages)."""
_NOT_ONE_MESSAGE = "Body must be a single JSON-RPC request or notification object"
LIST_TTL_MS = 5_000
WATCH_AFTER = 0.2
"""Seconds before a call starts watching for the client closing its stream."""
_LISTEN_FLAGS = {"tools": "toolsListChanged", "prompts": "promptsListChanged", "resources": "resourcesListChanged"}


async def _reject(send: Send, request_id: Any, exc: RpcError, request: Request | None = None) -> None:
    headers = challenge(request, exc) if request is not None else None
    await send_json(send, http_status(exc, "modern"), response(request_id, exc), headers)


def _unsupported(requested: Any) -> RpcError:
    data = {"supported": list(protocol.MODERN_VERSIONS), "requested": requested}
    return RpcError(Code.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", data)


async def post(edge: Edge, request: Request, message: Any, receive: Receive, send: Send) -> None:
    if not isinstance(message, dict):
        await _reject(send, None, RpcError(Code.MALFORMED, _NOT_ONE_MESSAGE))
        return
    method = message.get("method")
    version = request.headers.get("mcp-protocol-version")
    if "id" not in message:
        if not isinstance(method, str) or message.get("jsonrpc") != "2.0":
            await _reject(send, None, RpcError(Code.MALFORMED, _NOT_ONE_MESSAGE))
        elif version not in protocol.MODERN_VERSIONS:
            await _reject(send, None, _unsupported(version))
        else:
            await send_empty(send, 202)
        return
    request_id = message["id"]
    if message.get("jsonrpc") != "2.0" or not isinstance(method, str) or not valid_id(request_id):
        await _reject(send, request_id if valid_id(request_id) else None, RpcError(Code.MALFORMED, _NOT_ONE_MESSAGE))
        return
    problem = _ladder(request, method, message.get("params"), version)
    if problem is not None:
        await _reject(send, request_id, problem)
        return
    params: JSON = message["params"]
    meta: JSON = params["_meta"]
    capabilities = meta[protocol.CLIENT_CAPABILITIES_META]
    client_info = meta.get(protocol.CLIENT_INFO_META)
    exchange = Exchange(send, can_stream=request.accept_sse)
    call = Call(
        method=method,
        params=params,
        request_id=request_id,
        era="modern",
        protocol_version=meta[protocol.PROTOCOL_VERSION_META],
        client_capabilities=capabilities if isinstance(capabilities, dict) else {},
        peer=exchange,
        tenant_slug=request.tenant_slug,
        entity_slug=request.entity_slug,
        credential=request.credential,
        client_info=client_info if isinstance(client_info, dict) else None,
        log_level=meta.get(protocol.LOG_LEVEL_META),
        headers=request.headers,
    )
    if method == "server/discover":
        await _discover(edge, request, call, send)
    elif method == "subscriptions/listen":
        await _listen(edge, request, call, receive, send)
    else:
        await _serve(edge, request, call, exchange, receive)


def _ladder(request: Request, method: str, params: Any, version: str | None) -> RpcError | None:
    """The spec's validation ladder, in its order; ``None`` when the request passes."""
    seen: set[bytes] = set()
    for key, _ in request.raw_headers:
        if key in _ROUTING_HEADERS:
            if key in seen:
                return RpcError(Code.HEADER_MISMATCH, f"{key.decode()} header appears more than once")
            seen.add(key)
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        return RpcError(
            Code.INVALID_PARAMS,
            f"params._meta must be an object carrying {protocol.PROTOCOL_VERSION_META!r} and "
            f"{protocol.CLIENT_CAPABILITIES_META!r}",
        )
    missing = [k for k in (protocol.PROTOCOL_VERSION_META, protocol.CLIENT_CAPABILITIES_META) if k not in meta]
    if missing:
        return RpcError(Code.INVALID_PARAMS, f"params._meta is missing: {', '.join(missing)}")
    assert isinstance(params, dict)
    body_version = meta[protocol.PROTOCOL_VERSION_META]
    if version is None or version != body_version:
        return RpcError(Code.HEADER_MISMATCH, "MCP-Protocol-Version header does not match _meta")
    if request.headers.get("mcp-method") != method:
        return RpcError(Code.HEADER_MISMATCH, "Mcp-Method header does not match the body's method")
    name_key = protocol.NAME_BEARING.get(method)
    if name_key is not None:
        body_name = params.get(name_key)
        if body_name is not None and decode_header_value(request.headers.get("mcp-name")) != body_name:
            return RpcError(Code.HEADER_MISMATCH, f"Mcp-Name header does not match the body's {name_key}")
    if body_version not in protocol.MODERN_VERSIONS:
        return _unsupported(body_version)
    if method in protocol.HANDSHAKE_ONLY_METHODS or method.startswith("notifications/"):
        return RpcError(Code.METHOD_NOT_FOUND, f"Method not found: {method}")
    level = meta.get(protocol.LOG_LEVEL_META)
    if level is not None and level not in protocol.LOG_LEVELS:
        return RpcError(
            Code.INVALID_PARAMS,
            f"unknown log level {level!r} in params._meta; use one of {', '.join(protocol.LOG_LEVELS)}",
        )
    return None


async def _cleared(edge: Edge, request: Request, call: Call, send: Send) -> Call | None:
    """The call through the chain's ``EVERY_CALL`` stages, for methods the gateway answers itself;
    ``None`` once a denial has been answered."""
    try:
        cleared, _ = await edge.chain.run(call, answered=True)
    except RpcError as exc:
        await _reject(send, call.request_id, exc, request)
        return None
    return cleared


def _stamp(edge: Edge, call: Call, result: JSON) -> JSON:
    """Every 2026-07-28 result names its server in ``_meta``."""
    if call.tenant is not None:
        info = edge.served.server_info(call.tenant, call.entity)
        meta = result.get("_meta")
        result["_meta"] = (
            {**meta, protocol.SERVER_INFO_META: info} if isinstance(meta, dict) else {protocol.SERVER_INFO_META: info}
        )
    return result


async def _discover(edge: Edge, request: Request, call: Call, send: Send) -> None:
    cleared = await _cleared(edge, request, call, send)
    if cleared is None:
        return
    tenant = cleared.tenant
    assert tenant is not None
    result: JSON = {
        "resultType": "complete",
        "supportedVersions": list(protocol.MODERN_VERSIONS),
        "capabilities": edge.served.capabilities(tenant),
        "serverInfo": edge.served.server_info(tenant, cleared.entity),
        "ttlMs": LIST_TTL_MS,
        "cacheScope": "private",
    }
    if instructions := edge.served.instructions(tenant, cleared.entity):
        result["instructions"] = instructions
    await send_json(send, 200, result_response(call.request_id, _stamp(edge, cleared, result)))


async def _serve(edge: Edge, request: Request, call: Call, exchange: Exchange, receive: Receive) -> None:
    task = asyncio.current_task()
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        if not exchange.closed and task is not None:
            gone = True
            task.cancel()

    watcher: asyncio.Task[None] | None = None

    def start_watch() -> None:
        nonlocal watcher
        watcher = asyncio.get_running_loop().create_task(watch())

    timer = asyncio.get_running_loop().call_later(WATCH_AFTER, start_watch)
    try:
        cleared, result = await edge.chain.run(call)
    except RpcError as exc:
        await exchange.finish(response(call.request_id, exc), http_status(exc, "modern"), challenge(request, exc))
        return
    except asyncio.CancelledError:
        if gone and task is not None:
            task.uncancel()
            exchange.closed = True
            return
        raise
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()
    assert result is not None
    if result.get("resultType") is None:
        result["resultType"] = "complete"
    if call.method in protocol.CACHEABLE_METHODS and result["resultType"] == "complete":
        result.setdefault("ttlMs", LIST_TTL_MS if call.method != "resources/read" else 0)
        result["cacheScope"] = "private"
    await exchange.finish(result_response(call.request_id, _stamp(edge, cleared, result)))


async def _listen(edge: Edge, request: Request, call: Call, receive: Receive, send: Send) -> None:
    cleared = await _cleared(edge, request, call, send)
    if cleared is None:
        return
    tenant = cleared.tenant
    assert tenant is not None
    wanted = call.params.get("notifications")
    if not isinstance(wanted, dict):
        wanted = {}
    honored: JSON = {flag: True for flag in _LISTEN_FLAGS.values() if wanted.get(flag) is True}
    uris = wanted.get("resourceSubscriptions")
    asked = {u for u in uris if isinstance(u, str)} if isinstance(uris, list) else set()
    subscribed = {u for u in asked if edge.served.may_see_uri(cleared, u)}
    if subscribed:
        honored["resourceSubscriptions"] = sorted(subscribed)
    meta = {protocol.SUBSCRIPTION_ID_META: call.request_id}
    tenant_id = tenant.id
    listener_key = f"listen:{id(call):x}"
    subscriptions = edge.served.subscriptions(tenant_id)
    if subscriptions is not None:
        await subscriptions.watch(listener_key, subscribed)

    def render(event: Event) -> JSON | None:
        if event.tenant_id != tenant_id:
            return None
        if event.kind == "updated":
            if event.uri not in subscribed:
                return None
            return {
                "jsonrpc": "2.0",
                "method": "notifications/resources/updated",
                "params": {"uri": event.uri, "_meta": meta},
            }
        if not honored.get(_LISTEN_FLAGS[event.kind]):
            return None
        return {"jsonrpc": "2.0", "method": protocol.LIST_CHANGED[event.kind], "params": {"_meta": meta}}

    ack = {
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": honored, "_meta": meta},
    }
    queue: asyncio.Queue[JSON | None] = asyncio.Queue()
    assert cleared.principal is not None
    edge.streams[queue] = cleared.principal
    try:
        await pump(edge.served.listen, receive, send, render, queue, first=ack)
    finally:
        edge.streams.pop(queue, None)
        if subscriptions is not None:
            await subscriptions.drop(listener_key)
