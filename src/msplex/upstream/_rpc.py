"""JSON-RPC plumbing shared by the HTTP and stdio sessions.

Only plain dicts and orjson: nothing here touches pydantic or the SDK, because
this is the per-call hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson

from msplex import __version__, protocol
from msplex.upstream.base import (
    JSON,
    Era,
    NotificationSink,
    RequestSink,
    ServerFacts,
    UpstreamProtocolError,
)

__all__ = [
    "CAPABILITIES",
    "CLIENT_INFO",
    "answer",
    "decode",
    "encode",
    "error_response",
    "messages",
    "server_facts",
]

log = logging.getLogger("msplex.upstream")

CLIENT_INFO: JSON = {"name": "msplex", "version": __version__}
# The gateway bridges these to its own clients, so it advertises all three upstream.
CAPABILITIES: JSON = {
    "sampling": {},
    "elicitation": {"form": {}, "url": {}},
    "roots": {"listChanged": True},
}

encode = orjson.dumps


def decode(raw: bytes | str) -> Any:
    """Parse one JSON document; anything unparseable is the upstream's protocol fault."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("upstream sent invalid JSON") from None


def messages(doc: Any) -> Iterator[JSON]:
    """The JSON-RPC messages in a decoded body (a single object or, from old servers, a batch)."""
    if isinstance(doc, dict):
        yield doc
    elif isinstance(doc, list):
        for item in doc:
            if isinstance(item, dict):
                yield item
            else:
                raise UpstreamProtocolError("upstream sent a malformed JSON-RPC batch")
    else:
        raise UpstreamProtocolError("upstream sent a non-object JSON-RPC message")


def server_facts(era: Era, version: str, server_info: Any, result: JSON) -> ServerFacts:
    """Facts from a handshake result, keeping only well-typed fields."""
    caps, instructions = result.get("capabilities"), result.get("instructions")
    return ServerFacts(
        era=era,
        protocol_version=version,
        server_info=server_info if isinstance(server_info, dict) else {},
        capabilities=caps if isinstance(caps, dict) else {},
        instructions=instructions if isinstance(instructions, str) else None,
    )


def response_of(msg: JSON) -> JSON:
    """Reduce a JSON-RPC response to the contract's shape: exactly one of ``result``/``error``."""
    if "result" in msg:
        result = msg["result"]
        if not isinstance(result, dict):
            raise UpstreamProtocolError("upstream result is not an object")
        return {"result": result}
    err = msg.get("error")
    if isinstance(err, dict) and isinstance(err.get("code"), int):
        return {"error": err}
    raise UpstreamProtocolError("upstream sent a JSON-RPC response without result or a valid error")


def error_response(code: int, message: str) -> JSON:
    return {"error": {"code": code, "message": message}}


_SELF_ANSWERED: dict[str, JSON] = {"ping": {}, "roots/list": {"roots": []}}
"""What the gateway answers itself when no client can be asked: a liveness check, and no roots
(an upstream asking at start-up would otherwise log a failure for a question nobody can answer)."""


async def answer(msg: JSON, on_request: RequestSink | None) -> JSON:
    """Produce the JSON-RPC response (with id) to a server-to-client request.

    ``ping`` is answered here; everything else goes to ``on_request``, or is answered from
    ``_SELF_ANSWERED`` when there is no one to ask. A sink that fails or returns garbage yields a
    generic error: its exception text never reaches the upstream.
    """
    rid = msg.get("id")
    method = msg.get("method")
    if method == "ping":
        return {"jsonrpc": "2.0", "id": rid, "result": {}}
    if on_request is None:
        if isinstance(method, str) and method in _SELF_ANSWERED:
            return {"jsonrpc": "2.0", "id": rid, "result": _SELF_ANSWERED[method]}
        reply = error_response(protocol.METHOD_NOT_FOUND, "Method not available through this gateway session")
    else:
        try:
            reply = await on_request(msg)
        except Exception:
            log.exception("server-to-client request handler failed for %s", msg.get("method"))
            reply = error_response(protocol.INTERNAL_ERROR, "Internal error")
        if not isinstance(reply, dict) or ("result" in reply) == ("error" in reply):
            log.error("server-to-client request handler returned an invalid reply")
            reply = error_response(protocol.INTERNAL_ERROR, "Internal error")
    out: JSON = {"jsonrpc": "2.0", "id": rid}
    if "result" in reply:
        out["result"] = reply["result"]
    else:
        out["error"] = reply["error"]
    return out


async def notify_sink(sink: NotificationSink | None, msg: JSON) -> None:
    """Deliver a notification; a failing sink is logged, never allowed to break the stream."""
    if sink is None:
        return
    try:
        await sink(msg)
    except Exception:
        log.exception("notification sink failed for %s", msg.get("method"))
