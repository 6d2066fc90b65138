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
* 2026-07-28 client, legacy upstream: the upstream request is *parked*
  (``parked``) and the client's retries feed it, from any replica.

Progress tokens are rewritten to gateway-unique ones on the way up (upstream
sessions are shared by many clients) and mapped back on the way down.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Awaitable, Callable

from msplex import protocol
from msplex.call import Call, Peer
from msplex.connectors.upstream.parked import Parked
from msplex.errors import Code, Relayed, RpcError
from msplex.protocol.jsonrpc import JSON, error
from msplex.upstream import UpstreamSession

__all__ = ["forward"]

_progress_ids = itertools.count(1)
_PROGRESS_PREFIX = f"msplex-{secrets.token_hex(3)}-"
_ENVELOPE_KEYS = (
    protocol.PROTOCOL_VERSION_META,
    protocol.CLIENT_CAPABILITIES_META,
    protocol.CLIENT_INFO_META,
    protocol.LOG_LEVEL_META,
)
_MAX_INPUT_ROUNDS = 16


async def forward(session: UpstreamSession, call: Call, method: str, params: JSON, parked: Parked, peer: Peer) -> JSON:
    """Send ``method`` to ``session`` on behalf of ``call``; returns the upstream's result.

    An upstream JSON-RPC error is raised as ``Relayed`` with the upstream's code and
    message, so the client sees what the upstream said.
    """
    facts = session.facts or await session.start()
    client_token = None
    meta = params.get("_meta")
    if isinstance(meta, dict) and "progressToken" in meta:
        client_token = meta["progressToken"]
        params = {**params, "_meta": {**meta, "progressToken": f"{_PROGRESS_PREFIX}{next(_progress_ids)}"}}
    threshold = call.log_level

    async def on_notification(message: JSON) -> None:
        kind = message.get("method")
        if kind == "notifications/progress":
            if client_token is None:
                return
            p = message.get("params") or {}
            await peer.notify({**message, "params": {**p, "progressToken": client_token}})
        elif kind == "notifications/message":
            if protocol.log_admits(threshold, (message.get("params") or {}).get("level")):
                await peer.notify(message)
        else:
            await peer.notify(message)

    if facts.era == "modern":
        return await _modern_upstream(session, call, method, params, on_notification, peer)
    params = _strip_envelope(params)
    tenant_id = call.tenant.id if call.tenant is not None else ""
    caller = call.caller
    if call.era == "legacy" or method not in protocol.NAME_BEARING:

        async def relay(request: JSON) -> JSON:
            if not peer.can_request:
                return {"error": error(protocol.METHOD_NOT_FOUND, "the client has no back-channel")}
            return await peer.request(request.get("method", ""), request.get("params"))

        reply = await session.request(method, params, on_notification=on_notification, on_request=relay, caller=caller)
        return _unwrap(reply)
    # 2026-07-28 client, legacy upstream: park the upstream request across client retries.
    if parked.is_ours(params.get("requestState")):
        return await parked.resume(tenant_id, params["requestState"], params.get("inputResponses"))

    async def run(ask: Callable[[JSON], Awaitable[JSON]]) -> JSON:
        reply = await session.request(method, params, on_notification=on_notification, on_request=ask, caller=caller)
        return _unwrap(reply)

    return await parked.start(tenant_id, run)


def _strip_envelope(params: JSON) -> JSON:
    """Drop a 2026-07-28 client's ``_meta`` envelope: a legacy upstream (stdio ones
    included) rejects requests carrying it on a handshake-era connection."""
    meta = params.get("_meta")
    if not isinstance(meta, dict) or not any(k in meta for k in _ENVELOPE_KEYS):
        return params
    rest = {k: v for k, v in meta.items() if k not in _ENVELOPE_KEYS}
    return {**params, "_meta": rest} if rest else {k: v for k, v in params.items() if k != "_meta"}


async def _modern_upstream(
    session: UpstreamSession,
    call: Call,
    method: str,
    params: JSON,
    on_notification: Callable[[JSON], Awaitable[None]],
    peer: Peer,
) -> JSON:
    meta = dict(params.get("_meta") or {})
    meta[protocol.CLIENT_CAPABILITIES_META] = dict(call.client_capabilities)
    if call.log_level is not None:
        meta[protocol.LOG_LEVEL_META] = call.log_level
    params = {**params, "_meta": meta}
    for _round in range(_MAX_INPUT_ROUNDS):
        result = _unwrap(await session.request(method, params, on_notification=on_notification))
        if result.get("resultType") != "input_required" or call.era == "modern":
            return result
        # Legacy client: ask it each input request over its back-channel, then retry upstream.
        answers: JSON = {}
        for key, request in (result.get("inputRequests") or {}).items():
            if not peer.can_request:
                raise RpcError(Code.INVALID_REQUEST, "the upstream needs client input but the client cannot be asked")
            reply = await peer.request(request.get("method", ""), request.get("params"))
            if "error" in reply:
                err = reply["error"] if isinstance(reply["error"], dict) else {}
                code = err.get("code")
                raise Relayed(
                    code if isinstance(code, int) else protocol.INTERNAL_ERROR, err.get("message", "the client refused")
                )
            answers[key] = reply.get("result")
        params = {k: v for k, v in params.items() if k not in ("inputResponses", "requestState")}
        params["inputResponses"] = answers
        if result.get("requestState") is not None:
            params["requestState"] = result["requestState"]
    raise RpcError(Code.UPSTREAM_FAILED, "the upstream asked for input too many times")


def _unwrap(response: JSON) -> JSON:
    if "error" in response:
        err = response["error"] if isinstance(response["error"], dict) else {}
        code = err.get("code")
        raise Relayed(
            code if isinstance(code, int) else protocol.INTERNAL_ERROR,
            str(err.get("message", "upstream error")),
            err.get("data"),
        )
    result = response.get("result")
    return result if isinstance(result, dict) else {}
