"""One HTTP round trip with an upstream: POST a JSON-RPC message, read a JSON or SSE reply.

Below: the HTTP/1.1 transport (``_http1``). Above: ``HttpSession``, which owns
era, headers and retries. Transport failures become ``UpstreamError`` here, and no message
built here quotes a header value or the URL (either may carry credentials).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from msplex.upstream import _rpc
from msplex.upstream._http1 import Client, Response, UpstreamDisconnected
from msplex.upstream.addresses import PrivateAddress, public_address
from msplex.upstream.base import (
    JSON,
    NotificationSink,
    RequestSink,
    UpstreamProtocolError,
    UpstreamUnavailable,
)
from msplex.upstream.sse import SSEParser, SSETooLarge

__all__ = [
    "HTTPStatusError",
    "Poster",
    "SessionExpired",
    "client_session",
    "decoder",
    "error_reply",
    "read_reply",
    "round_trip",
]

log = logging.getLogger("msplex.upstream.http")

_MAX_ERROR_BODY = 64 * 1024
_RESUME_ATTEMPTS = 3


class HTTPStatusError(UpstreamUnavailable):
    """The upstream answered with an HTTP status that carries no JSON-RPC answer."""

    def __init__(self, name: str, status: int) -> None:
        super().__init__(f"upstream {name!r} answered HTTP {status}")
        self.status = status


class SessionExpired(Exception):
    """Legacy session unknown to the upstream (404): re-initialize and retry."""


def client_session(*, public_only: bool = False) -> Client:
    """Pooled keep-alive connections; no cookies, redirects or compression negotiation. ``public_only``:
    every new connection goes to an address checked to be public (``upstream.addresses``)."""
    return Client(connect_timeout=10, address_guard=_public_address if public_only else None)


async def _public_address(host: str, port: int) -> str:
    try:
        return await public_address(host, port)
    except PrivateAddress as exc:
        raise UpstreamDisconnected(str(exc)) from None


def decoder(resp: Response) -> Callable[[bytes], bytes] | None:
    """A streaming decompressor when the upstream compressed despite not being asked to."""
    enc = resp.headers.get("Content-Encoding", "").strip().lower()
    if not enc or enc == "identity":
        return None
    if enc in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(47).decompress  # auto-detects gzip and zlib headers
    raise UpstreamProtocolError(f"upstream used unsupported Content-Encoding {enc!r}")


async def _read_body(resp: Response, limit: int | None = None) -> bytes:
    raw = await resp.read() if limit is None else await resp.content.read(limit)
    dec = decoder(resp)
    return dec(raw) if dec is not None else raw


async def error_reply(name: str, resp: Response, legacy_session: bool) -> JSON:
    """Map a non-2xx answer: a JSON-RPC error body is the answer, otherwise a typed failure."""
    status = resp.status
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        try:
            doc = _rpc.decode(await _read_body(resp, _MAX_ERROR_BODY))
        except (UpstreamProtocolError, OSError, zlib.error):
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
            if status == 404 and legacy_session:
                raise SessionExpired
            return _rpc.response_of(doc)
    if status == 404 and legacy_session:
        raise SessionExpired
    if status >= 500 or status in (401, 403, 407, 408, 429):
        raise HTTPStatusError(name, status)
    err = HTTPStatusError(name, status)
    raise UpstreamProtocolError(str(err)) from None


async def read_reply(
    name: str,
    resp: Response,
    rid: Any,
    on_notification: NotificationSink | None,
    on_request: RequestSink | None,
    post_answer: Callable[[JSON], Any] | None,
    parser: SSEParser | None = None,
) -> JSON | None:
    """Read one reply body; ``None`` means an SSE stream ended before the response (resumable)."""
    ctype = resp.headers.get("Content-Type", "")
    if ctype.startswith("application/json"):
        doc = _rpc.decode(await _read_body(resp))
        found: JSON | None = None
        for msg in _rpc.messages(doc):
            if "method" in msg:
                await _route(msg, on_notification, on_request, post_answer, None)
            elif msg.get("id") == rid:
                found = _rpc.response_of(msg)
        if found is None:
            raise UpstreamProtocolError(f"upstream {name!r} answered without a response to the request")
        return found
    if not ctype.startswith("text/event-stream"):
        raise UpstreamProtocolError(f"upstream {name!r} answered with an unexpected content type")
    parser = parser or SSEParser()
    dec = decoder(resp)
    answering: set[asyncio.Task[None]] = set()
    try:
        async for chunk in resp.content.iter_any():
            for ev in parser.feed(dec(chunk) if dec is not None else chunk):
                if not ev.data or ev.event != "message":
                    continue
                for msg in _rpc.messages(_rpc.decode(ev.data)):
                    if "method" in msg:
                        await _route(msg, on_notification, on_request, post_answer, answering)
                    elif msg.get("id") == rid:
                        return _rpc.response_of(msg)
    except SSETooLarge:
        raise UpstreamProtocolError(f"upstream {name!r} sent an oversized SSE event") from None
    except zlib.error:
        raise UpstreamProtocolError(f"upstream {name!r} sent a corrupt compressed stream") from None
    finally:
        for task in answering:
            if not task.done():
                task.cancel()
    return None


async def _route(
    msg: JSON,
    on_notification: NotificationSink | None,
    on_request: RequestSink | None,
    post_answer: Callable[[JSON], Any] | None,
    answering: set[asyncio.Task[None]] | None,
) -> None:
    if "id" not in msg:
        await _rpc.notify_sink(on_notification, msg)
        return
    if post_answer is None:
        log.warning("ignored a server-to-client request (%s) the protocol era forbids", msg.get("method"))
        return

    async def respond() -> None:
        reply = await _rpc.answer(msg, on_request)
        try:
            await post_answer(reply)
        except Exception as exc:  # the request it belonged to fails or succeeds on its own
            log.warning("could not deliver the answer to %s: %s", msg.get("method"), type(exc).__name__)

    if answering is None:
        await respond()
    else:
        task = asyncio.create_task(respond())
        answering.add(task)
        task.add_done_callback(answering.discard)


class Poster(Protocol):
    """What a round trip needs from its session."""

    name: str

    @property
    def url(self) -> str: ...

    @property
    def http(self) -> Client: ...

    @property
    def session_id(self) -> str | None: ...

    async def send(self, body: bytes, headers: dict[str, str]) -> Response: ...

    async def get_headers(self, extra: dict[str, str]) -> dict[str, str]: ...

    async def post_message(self, msg: JSON, headers: dict[str, str] | None = None) -> None: ...

    def spawn(self, coro: Any) -> None: ...


async def round_trip(
    session: Poster,
    body: bytes,
    headers: dict[str, str],
    rid: int,
    on_notification: NotificationSink | None,
    on_request: RequestSink | None,
    legacy: bool,
    on_response: Callable[[Response], None] | None = None,
) -> JSON:
    """POST ``body`` and return the response to ``rid``; a legacy SSE stream that ends before the
    response is resumed with ``Last-Event-ID`` (SEP-1699 polling) a few times."""
    answer = session.post_message if legacy else None
    parser = SSEParser()
    try:
        resp = await session.send(body, headers)
        reply = None
        try:
            if resp.status >= 300:
                return await error_reply(session.name, resp, legacy and session.session_id is not None)
            if resp.status == 202:
                raise UpstreamProtocolError(f"upstream {session.name!r} answered a request with 202")
            if on_response is not None:
                on_response(resp)
            reply = await read_reply(session.name, resp, rid, on_notification, on_request, answer, parser)
        finally:
            _finish(session, resp, reply is not None)
        attempts = 0
        while reply is None:
            if not legacy or parser.last_event_id is None or attempts >= _RESUME_ATTEMPTS:
                raise UpstreamUnavailable(f"upstream {session.name!r} closed the stream before answering")
            attempts += 1
            await asyncio.sleep((parser.retry or 100) / 1000)
            hdrs = await session.get_headers({"Accept": "text/event-stream", "Last-Event-ID": parser.last_event_id})
            async with session.http.get(session.url, headers=hdrs) as resp:
                if resp.status >= 300:
                    return await error_reply(session.name, resp, session.session_id is not None)
                reply = await read_reply(session.name, resp, rid, on_notification, on_request, answer, parser)
        return reply
    except OSError as exc:
        # The transport's own messages name no URL or header (safe to relay); others only their type.
        reason = str(exc) if isinstance(exc, UpstreamDisconnected) else type(exc).__name__
        raise UpstreamUnavailable(f"upstream {session.name!r} unreachable ({reason})") from None


def _finish(session: Poster, resp: Response, answered: bool) -> None:
    """Release the response. An SSE stream that delivered its answer is drained in the background
    so its keep-alive connection returns to the pool; anything else unfinished is closed, which
    for a modern upstream is also how a cancelled request is cancelled."""
    if answered and not resp.content.at_eof():
        session.spawn(_drain(resp))
    else:
        resp.release()


async def _drain(resp: Response) -> None:
    try:
        async with asyncio.timeout(10):
            while await resp.content.readany():
                pass
    except (TimeoutError, OSError):
        resp.close()
    else:
        resp.release()
