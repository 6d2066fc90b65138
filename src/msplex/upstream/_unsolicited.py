"""The long-lived channel for notifications not tied to a request, per HTTP era.

Legacy: the standalone GET SSE stream, reopened with backoff (honouring the
server's ``retry``); 405 means the upstream has none, 404 re-initializes the
session. Modern: a ``subscriptions/listen`` POST whose response is the
stream, filtered to the three ``list_changed`` kinds plus the subscribed
resource URIs; re-listened after a graceful close or a drop. Server-to-client
requests on the GET stream go to the session's ``server_request_sink``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from msplex.upstream import _rpc
from msplex.upstream._roundtrip import SessionExpired, decoder, error_reply
from msplex.upstream.base import JSON, UpstreamError
from msplex.upstream.sse import SSEParser

if TYPE_CHECKING:
    from msplex.upstream.http import HttpSession

__all__ = ["CHANNEL_OPENED", "StreamState"]

CHANNEL_OPENED = {"jsonrpc": "2.0", "method": "notifications/msplex/channel_opened"}
"""Given to the sink each time the channel (re)opens: what the upstream said while it was
closed is lost, so whoever caches the upstream's lists should read them again."""

log = logging.getLogger("msplex.upstream.http")

_MIN_DELAY = 0.25
_MAX_DELAY = 30.0


class _NoChannel(Exception):
    """The upstream has no unsolicited channel (405, or listen not offered)."""


class StreamState:
    """Owns the background task and its readiness: open, retrying, or absent."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[bool] | None = None
        self._gen = 0

    def ensure(self, session: HttpSession) -> None:
        if self.task is None or self.task.done():
            self._gen += 1
            self._ready = asyncio.get_running_loop().create_future()
            self.task = asyncio.create_task(_run(session, self, self._gen), name=f"upstream-stream-{session.name}")

    def restart(self, session: HttpSession) -> None:
        if self.task is not None:
            self.task.cancel()
        self.task = None
        self.ensure(session)

    async def wait(self) -> bool:
        if self._ready is None:
            return False
        return await asyncio.shield(self._ready)

    def settle(self, gen: int, ok: bool) -> None:
        if gen == self._gen and self._ready is not None and not self._ready.done():
            self._ready.set_result(ok)

    def reset(self, gen: int) -> None:
        if gen == self._gen and (self._ready is None or self._ready.done()):
            self._ready = asyncio.get_running_loop().create_future()


async def _run(session: HttpSession, state: StreamState, gen: int) -> None:
    delay = _MIN_DELAY
    last_event_id: str | None = None
    stream_sid = session.session_id
    try:
        while not session.closed:
            retry: int | None = None
            try:
                if session.era == "modern":
                    await _listen_once(session, state, gen)
                else:
                    if session.session_id != stream_sid:
                        stream_sid, last_event_id = session.session_id, None
                    last_event_id, retry = await _get_once(session, state, gen, last_event_id)
                delay = _MIN_DELAY
            except _NoChannel:
                log.info("upstream %r offers no unsolicited channel", session.name)
                state.settle(gen, False)
                return
            except SessionExpired:
                try:
                    await session.reinitialize(stream_sid)
                    continue
                except UpstreamError:
                    pass
            except (OSError, UpstreamError) as exc:
                log.debug("upstream %r: unsolicited stream dropped (%s)", session.name, type(exc).__name__)
            state.reset(gen)
            await asyncio.sleep(retry / 1000 if retry else delay)
            delay = min(delay * 2, _MAX_DELAY)
    finally:
        state.settle(gen, False)


async def _dispatch(session: HttpSession, msg: JSON, legacy: bool) -> None:
    if "method" not in msg:
        return  # a stray response: nothing awaits it here
    if "id" not in msg:
        await _rpc.notify_sink(session.sink, msg)
        return
    if not legacy:
        return

    async def respond() -> None:
        reply = await _rpc.answer(msg, session.server_request_sink)
        try:
            await session.post_message(reply)
        except (UpstreamError, SessionExpired):
            log.warning("upstream %r: could not deliver the answer to %s", session.name, msg.get("method"))

    session.spawn(respond())


async def _get_once(
    session: HttpSession, state: StreamState, gen: int, last_event_id: str | None
) -> tuple[str | None, int | None]:
    extra = {"Accept": "text/event-stream"}
    if last_event_id:
        extra["Last-Event-ID"] = last_event_id
    headers = await session.get_headers(extra)
    async with session.http.get(session.url, headers=headers) as resp:
        if resp.status == 405:
            raise _NoChannel
        if resp.status >= 300:
            await error_reply(session.name, resp, session.session_id is not None)
            raise _NoChannel
        if not resp.headers.get("Content-Type", "").startswith("text/event-stream"):
            raise _NoChannel
        state.settle(gen, True)
        session.spawn(_rpc.notify_sink(session.sink, dict(CHANNEL_OPENED)))
        parser = SSEParser()
        parser.last_event_id = last_event_id
        dec = decoder(resp)
        async for chunk in resp.content.iter_any():
            for ev in parser.feed(dec(chunk) if dec else chunk):
                if ev.data and ev.event == "message":
                    for msg in _rpc.messages(_rpc.decode(ev.data)):
                        await _dispatch(session, msg, True)
        return parser.last_event_id, parser.retry


async def _listen_once(session: HttpSession, state: StreamState, gen: int) -> None:
    filt: dict[str, Any] = {
        "toolsListChanged": True,
        "promptsListChanged": True,
        "resourcesListChanged": True,
    }
    if session.resource_uris:
        filt["resourceSubscriptions"] = sorted(session.resource_uris)
    rid = f"listen-{session.next_id()}"
    params, headers = session.modern_request_parts("subscriptions/listen", {"notifications": filt})
    body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": "subscriptions/listen", "params": params})
    async with await session.send(body, headers) as resp:
        if resp.status >= 300:
            reply = await error_reply(session.name, resp, False)
            raise _NoChannel from UpstreamError(str(reply["error"].get("code")))
        if not resp.headers.get("Content-Type", "").startswith("text/event-stream"):
            raise _NoChannel  # a JSON answer to listen is an error or an immediate close
        parser = SSEParser()
        dec = decoder(resp)
        async for chunk in resp.content.iter_any():
            for ev in parser.feed(dec(chunk) if dec else chunk):
                if not ev.data or ev.event != "message":
                    continue
                for msg in _rpc.messages(_rpc.decode(ev.data)):
                    if msg.get("method") == "notifications/subscriptions/acknowledged":
                        state.settle(gen, True)
                        session.spawn(_rpc.notify_sink(session.sink, dict(CHANNEL_OPENED)))
                    elif "method" in msg:
                        await _dispatch(session, msg, False)
                    elif msg.get("id") == rid:
                        if "error" in msg:
                            raise _NoChannel
                        return  # graceful close: re-listen
