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

from msplex import chain
from msplex.call import Call
from msplex.errors import Denied, RpcError
from msplex.mcp import wire
from msplex.mcp.exchange import Exchange
from msplex.mcp.http import Receive, Send, send_empty, send_json
from msplex.mcp.streams import LIST_CHANGED, pump

if TYPE_CHECKING:
    from msplex.federation.events import Event
    from msplex.mcp.edge import Edge, Request

__all__ = ["post"]

JSON = dict[str, Any]
_LEGACY_ONLY = frozenset({"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
_ROUTING_HEADERS = (b"mcp-protocol-version", b"mcp-method", b"mcp-name")
LIST_TTL_MS = 5_000
WATCH_AFTER = 0.2
"""Seconds before a call starts watching for the client closing its stream."""


async def _reject(send: Send, request_id: Any, code: int, message: str, data: Any = None) -> None:
    await send_json(send, wire.ERROR_HTTP_STATUS.get(code, 200), wire.error_response(request_id, code, message, data))


async def post(edge: Edge, request: Request, message: Any, receive: Receive, send: Send) -> None:
    if not isinstance(message, dict):
        await _reject(send, None, wire.INVALID_REQUEST, "Body must be a single JSON-RPC request or notification object")
        return
    method = message.get("method")
    version = request.headers.get("mcp-protocol-version")
    if "id" not in message:
        if not isinstance(method, str) or message.get("jsonrpc") != "2.0":
            await _reject(
                send,
                None,
                wire.INVALID_REQUEST,
                "Body must be a single JSON-RPC request or notification object",
            )
        elif version not in wire.MODERN_VERSIONS:
            await _reject(send, None, *_unsupported(version))
        else:
            await send_empty(send, 202)
        return
    request_id = message["id"]
    if (
        message.get("jsonrpc") != "2.0"
        or not isinstance(method, str)
        or not isinstance(request_id, (str, int))
        or isinstance(request_id, bool)
    ):
        rid = request_id if isinstance(request_id, (str, int)) and not isinstance(request_id, bool) else None
        await _reject(send, rid, wire.INVALID_REQUEST, "Body must be a single JSON-RPC request or notification object")
        return
    seen: set[bytes] = set()
    for key, _ in request.raw_headers:
        if key in _ROUTING_HEADERS:
            if key in seen:
                await _reject(send, request_id, wire.HEADER_MISMATCH, f"{key.decode()} header appears more than once")
                return
            seen.add(key)
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    if not isinstance(meta, dict):
        await _reject(
            send,
            request_id,
            wire.INVALID_PARAMS,
            f"params._meta must be an object carrying {wire.PROTOCOL_VERSION_META!r} and "
            f"{wire.CLIENT_CAPABILITIES_META!r}",
        )
        return
    missing = [k for k in (wire.PROTOCOL_VERSION_META, wire.CLIENT_CAPABILITIES_META) if k not in meta]
    if missing:
        await _reject(send, request_id, wire.INVALID_PARAMS, f"params._meta is missing: {', '.join(missing)}")
        return
    assert isinstance(params, dict)
    body_version = meta[wire.PROTOCOL_VERSION_META]
    if version is None or version != body_version:
        await _reject(send, request_id, wire.HEADER_MISMATCH, "MCP-Protocol-Version header does not match _meta")
        return
    if request.headers.get("mcp-method") != method:
        await _reject(send, request_id, wire.HEADER_MISMATCH, "Mcp-Method header does not match the body's method")
        return
    name_key = wire.NAME_BEARING.get(method)
    if name_key is not None:
        body_name = params.get(name_key)
        if body_name is not None and wire.decode_header_value(request.headers.get("mcp-name")) != body_name:
            await _reject(
                send,
                request_id,
                wire.HEADER_MISMATCH,
                f"Mcp-Name header does not match the body's {name_key}",
            )
            return
    if body_version not in wire.MODERN_VERSIONS:
        await _reject(send, request_id, *_unsupported(body_version))
        return
    if method in _LEGACY_ONLY or method.startswith("notifications/"):
        await _reject(send, request_id, wire.METHOD_NOT_FOUND, f"Method not found: {method}")
        return
    capabilities = meta[wire.CLIENT_CAPABILITIES_META]
    client_info = meta.get(wire.CLIENT_INFO_META)
    log_level = meta.get(wire.LOG_LEVEL_META)
    exchange = Exchange(send)
    call = Call(
        method=method,
        params=params,
        request_id=request_id,
        era="modern",
        protocol_version=body_version,
        client_capabilities=capabilities if isinstance(capabilities, dict) else {},
        peer=exchange,
        tenant_slug=request.tenant_slug,
        bearer_digest=request.bearer_digest,
        client_info=client_info if isinstance(client_info, dict) else None,
        log_level=log_level if isinstance(log_level, str) else None,
        headers=request.headers,
    )
    if method == "server/discover":
        await _discover(edge, call, send)
    elif method == "subscriptions/listen":
        await _listen(edge, call, receive, send)
    else:
        await _serve(edge, call, exchange, receive)


def _unsupported(requested: Any) -> tuple[int, str, JSON]:
    return (
        wire.UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(wire.MODERN_VERSIONS), "requested": requested},
    )


def _status(exc: RpcError) -> int:
    """HTTP status of an error answer: a denial's own (401/403), else the spec's table."""
    if isinstance(exc, Denied) and exc.http_status:
        return exc.http_status
    return wire.ERROR_HTTP_STATUS.get(exc.code, 200)


async def _cleared(edge: Edge, call: Call, send: Send) -> Call | None:
    """The call through the chain's stages, for methods the gateway answers itself; ``None``
    once a denial has been answered."""
    try:
        return await chain.clear(call, edge.gateway)
    except RpcError as exc:
        await send_json(send, _status(exc), {"jsonrpc": "2.0", "id": call.request_id, "error": exc.to_wire()})
        return None


async def _discover(edge: Edge, call: Call, send: Send) -> None:
    cleared = await _cleared(edge, call, send)
    if cleared is None:
        return
    call = cleared
    tenant = call.tenant
    assert tenant is not None
    result: JSON = {
        "resultType": "complete",
        "supportedVersions": list(wire.MODERN_VERSIONS),
        "capabilities": tenant.capabilities(modern=True),
        "serverInfo": edge.gateway.server_info_for(tenant),
        "_meta": {wire.SERVER_INFO_META: edge.gateway.server_info_for(tenant)},
    }
    if tenant.instructions:
        result["instructions"] = tenant.instructions
    await send_json(send, 200, wire.result_response(call.request_id, result))


async def _serve(edge: Edge, call: Call, exchange: Exchange, receive: Receive) -> None:
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
        call, result = await chain.run(call, edge.gateway)
    except RpcError as exc:
        await exchange.finish({"jsonrpc": "2.0", "id": call.request_id, "error": exc.to_wire()}, _status(exc))
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
    tenant = call.tenant
    if result.get("resultType") is None:
        result["resultType"] = "complete"
    if call.method in wire.CACHEABLE_METHODS and result["resultType"] == "complete":
        result.setdefault("ttlMs", LIST_TTL_MS if call.method != "resources/read" else 0)
        result["cacheScope"] = "private"
    if tenant is not None:
        meta = result.get("_meta")
        info = edge.gateway.server_info_for(tenant)
        result["_meta"] = (
            {**meta, wire.SERVER_INFO_META: info} if isinstance(meta, dict) else {wire.SERVER_INFO_META: info}
        )
    await exchange.finish(wire.result_response(call.request_id, result))


async def _listen(edge: Edge, call: Call, receive: Receive, send: Send) -> None:
    cleared = await _cleared(edge, call, send)
    if cleared is None:
        return
    call = cleared
    tenant = call.tenant
    assert tenant is not None
    wanted = call.params.get("notifications")
    if not isinstance(wanted, dict):
        wanted = {}
    honored: JSON = {}
    for flag in ("toolsListChanged", "promptsListChanged", "resourcesListChanged"):
        if wanted.get(flag) is True:
            honored[flag] = True
    uris = wanted.get("resourceSubscriptions")
    subscribed = {u for u in uris if isinstance(u, str)} if isinstance(uris, list) else set()
    if subscribed:
        honored["resourceSubscriptions"] = sorted(subscribed)
    meta = {wire.SUBSCRIPTION_ID_META: call.request_id}
    flags = {
        "tools": "toolsListChanged",
        "prompts": "promptsListChanged",
        "resources": "resourcesListChanged",
    }
    tenant_id = tenant.id
    listener_key = f"listen:{id(call)}"
    await tenant.watch_resources(listener_key, subscribed)

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
        if not honored.get(flags[event.kind]):
            return None
        return {"jsonrpc": "2.0", "method": LIST_CHANGED[event.kind], "params": {"_meta": meta}}

    ack = {
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": honored, "_meta": meta},
    }
    queue: asyncio.Queue[JSON | None] = asyncio.Queue()
    try:
        await pump(edge.gateway, receive, send, render, queue, first=ack)
    finally:
        await tenant.drop_subscriber(listener_key)
