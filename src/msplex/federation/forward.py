"""Forward one request to one upstream, bridging what the two eras do differently.

Client era x upstream era, for server-to-client input (sampling, elicitation,
roots) raised while the upstream serves the request:

* legacy client, legacy upstream: the upstream's request is relayed to the
  client on this request's stream and the answer relayed back.
* legacy client, 2026-07-28 upstream: the upstream answers
  ``InputRequiredResult``; each input request goes to the client as a
  server-to-client request and the upstream request is retried with the
  answers, until the upstream completes.
* 2026-07-28 client, 2026-07-28 upstream: ``InputRequiredResult`` passes
  through; the upstream's ``requestState`` is opaque to us and comes back on
  the retry, which routes by tool name like any call.
* 2026-07-28 client, legacy upstream: the upstream request stays open and is
  *parked*; the client gets an ``InputRequiredResult`` whose ``requestState``
  is an encrypted reference to the parked request, and its retry feeds the
  answers back in. Parked requests live in this process (``Parked``), so the
  retry must reach the same replica; an unknown reference is an
  ``Invalid or expired requestState`` error.

Progress tokens are rewritten to gateway-unique ones on the way up (upstream
sessions are shared by many clients) and mapped back on the way down.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from msplex.errors import RpcError
from msplex.mcp import wire

if TYPE_CHECKING:
    from msplex.call import Call
    from msplex.crypto import Keyring
    from msplex.upstream.base import UpstreamSession

__all__ = ["LOG_LEVELS", "Parked", "forward", "log_admits"]

log = logging.getLogger("msplex.forward")

JSON = dict[str, Any]

LOG_LEVELS = {
    name: rank
    for rank, name in enumerate(("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"))
}
_progress_ids = itertools.count(1)
_STATE_PREFIX = "msplex1."
_STATE_AAD = b"msplex-parked-call"
PARK_SECONDS = 300.0


def log_admits(threshold: str | None, level: Any) -> bool:
    if threshold is None:
        return False
    return LOG_LEVELS.get(level if isinstance(level, str) else "", 0) >= LOG_LEVELS.get(threshold, 0)


@dataclass
class _ParkedCall:
    tenant_id: str
    task: asyncio.Task[JSON]
    asks: asyncio.Queue[tuple[JSON, asyncio.Future[JSON]]] = field(default_factory=asyncio.Queue)
    pending: dict[str, asyncio.Future[JSON]] = field(default_factory=dict)
    expires: float = 0.0


class Parked:
    """Upstream requests held open while a 2026-07-28 client answers an input request."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._calls: dict[str, _ParkedCall] = {}

    def is_ours(self, state: Any) -> bool:
        return isinstance(state, str) and state.startswith(_STATE_PREFIX)

    def _reap(self) -> None:
        now = time.monotonic()
        for key, parked in list(self._calls.items()):
            if parked.expires < now:
                parked.task.cancel()
                del self._calls[key]

    async def start(self, tenant_id: str, run: Callable[[Callable[[JSON], Awaitable[JSON]]], Awaitable[JSON]]) -> JSON:
        self._reap()
        parked_ref: list[_ParkedCall] = []

        async def ask(request: JSON) -> JSON:
            future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
            await parked_ref[0].asks.put((request, future))
            return await future

        parked = _ParkedCall(tenant_id=tenant_id, task=asyncio.ensure_future(run(ask)))
        parked_ref.append(parked)
        return await self._next(secrets.token_urlsafe(12), parked)

    async def resume(self, tenant_id: str, state: str, responses: Any) -> JSON:
        try:
            ref = self._keyring.decrypt(state[len(_STATE_PREFIX) :], aad=_STATE_AAD).decode()
        except Exception:
            raise RpcError(wire.INVALID_PARAMS, "Invalid or expired requestState") from None
        parked = self._calls.pop(ref, None)
        if parked is None or parked.tenant_id != tenant_id:
            raise RpcError(wire.INVALID_PARAMS, "Invalid or expired requestState")
        if not isinstance(responses, dict):
            responses = {}
        for key, future in parked.pending.items():
            if future.done():
                continue
            if key in responses:
                future.set_result({"result": responses[key]})
            else:
                future.set_result({"error": wire.error(wire.INVALID_PARAMS, "the client gave no answer")})
        parked.pending.clear()
        return await self._next(ref, parked)

    async def _next(self, ref: str, parked: _ParkedCall) -> JSON:
        ask = asyncio.ensure_future(parked.asks.get())
        try:
            done, _ = await asyncio.wait({parked.task, ask}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            ask.cancel()
            parked.task.cancel()
            raise
        if parked.task in done:
            ask.cancel()
            return parked.task.result()
        requests: dict[str, JSON] = {}
        while True:
            request, future = ask.result()
            key = f"r{len(parked.pending) + 1}"
            parked.pending[key] = future
            requests[key] = {"method": request.get("method"), "params": request.get("params") or {}}
            if parked.asks.empty():
                break
            ask = asyncio.ensure_future(parked.asks.get())
            await asyncio.sleep(0)
        parked.expires = time.monotonic() + PARK_SECONDS
        self._calls[ref] = parked
        state = _STATE_PREFIX + self._keyring.encrypt(ref.encode(), aad=_STATE_AAD)
        return {"resultType": "input_required", "inputRequests": requests, "requestState": state}


async def forward(
    session: UpstreamSession,
    call: Call,
    method: str,
    params: JSON,
    parked: Parked,
) -> JSON:
    """Send ``method`` to ``session`` on behalf of ``call``; returns the upstream's result.

    An upstream JSON-RPC error is raised as ``RpcError`` with the upstream's
    code and message, so the client sees what the upstream said.
    """
    facts = session.facts or await session.start()
    client_token = None
    meta = params.get("_meta")
    if isinstance(meta, dict) and "progressToken" in meta:
        client_token = meta["progressToken"]
        params = {**params, "_meta": {**meta, "progressToken": f"msplex-{next(_progress_ids)}"}}
    peer = call.peer
    threshold = call.log_level

    async def on_notification(message: JSON) -> None:
        method_ = message.get("method")
        if method_ == "notifications/progress":
            if client_token is None:
                return
            p = message.get("params") or {}
            await peer.notify({**message, "params": {**p, "progressToken": client_token}})
        elif method_ == "notifications/message":
            if log_admits(threshold, (message.get("params") or {}).get("level")):
                await peer.notify(message)
        else:
            await peer.notify(message)

    if facts.era == "modern":
        return await _modern_upstream(session, call, method, params, on_notification)
    params = _strip_envelope(params)
    if call.era == "legacy" or not _may_need_input(method):

        async def relay(request: JSON) -> JSON:
            if not peer.can_request:
                return {"error": wire.error(wire.METHOD_NOT_FOUND, "the client has no back-channel")}
            return await peer.request(request.get("method", ""), request.get("params"))

        return _unwrap(await session.request(method, params, on_notification=on_notification, on_request=relay))
    # 2026-07-28 client, legacy upstream: park the upstream request across client retries.
    if parked.is_ours(params.get("requestState")):
        return await parked.resume(
            call.tenant.id if call.tenant else "", params["requestState"], params.get("inputResponses")
        )

    async def run(ask: Callable[[JSON], Awaitable[JSON]]) -> JSON:
        return _unwrap(await session.request(method, params, on_notification=on_notification, on_request=ask))

    return await parked.start(call.tenant.id if call.tenant else "", run)


_ENVELOPE_KEYS = (
    wire.PROTOCOL_VERSION_META,
    wire.CLIENT_CAPABILITIES_META,
    wire.CLIENT_INFO_META,
    wire.LOG_LEVEL_META,
)


def _strip_envelope(params: JSON) -> JSON:
    """Drop a 2026-07-28 client's ``_meta`` envelope: a legacy upstream (stdio ones
    included) rejects requests carrying it on a handshake-era connection."""
    meta = params.get("_meta")
    if not isinstance(meta, dict) or not any(k in meta for k in _ENVELOPE_KEYS):
        return params
    rest = {k: v for k, v in meta.items() if k not in _ENVELOPE_KEYS}
    return {**params, "_meta": rest} if rest else {k: v for k, v in params.items() if k != "_meta"}


def _may_need_input(method: str) -> bool:
    return method in ("tools/call", "resources/read", "prompts/get")


async def _modern_upstream(
    session: UpstreamSession,
    call: Call,
    method: str,
    params: JSON,
    on_notification: Callable[[JSON], Awaitable[None]],
) -> JSON:
    meta = dict(params.get("_meta") or {})
    meta[wire.CLIENT_CAPABILITIES_META] = dict(call.client_capabilities)
    if call.log_level is not None:
        meta[wire.LOG_LEVEL_META] = call.log_level
    params = {**params, "_meta": meta}
    for _round in range(16):
        result = _unwrap(await session.request(method, params, on_notification=on_notification))
        if result.get("resultType") != "input_required" or call.era == "modern":
            return result
        # Legacy client: ask it each input request over its back-channel, then retry upstream.
        answers: JSON = {}
        for key, request in (result.get("inputRequests") or {}).items():
            if not call.peer.can_request:
                raise RpcError(wire.INVALID_REQUEST, "the upstream needs client input but the client cannot be asked")
            reply = await call.peer.request(request.get("method", ""), request.get("params"))
            if "error" in reply:
                err = reply["error"] if isinstance(reply["error"], dict) else {}
                raise RpcError(err.get("code", wire.INTERNAL_ERROR), err.get("message", "the client refused"))
            answers[key] = reply.get("result")
        params = {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
        params["inputResponses"] = answers
        if result.get("requestState") is not None:
            params["requestState"] = result["requestState"]
    raise RpcError(wire.INTERNAL_ERROR, "the upstream asked for input too many times")


def _unwrap(response: JSON) -> JSON:
    if "error" in response:
        err = response["error"] if isinstance(response["error"], dict) else {}
        raise RpcError(
            err.get("code", wire.INTERNAL_ERROR) if isinstance(err.get("code"), int) else wire.INTERNAL_ERROR,
            str(err.get("message", "upstream error")),
            err.get("data"),
        )
    result = response.get("result")
    return result if isinstance(result, dict) else {}
