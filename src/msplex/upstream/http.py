"""``UpstreamSession`` over Streamable HTTP, in either protocol era.

Era detection (``start``): a ``server/discover`` probe at 2026-07-28; a
result naming a modern version means the stateless era, anything else (a
JSON-RPC error, a 4xx, a body that is not MCP) means legacy, and the session
falls back to ``initialize``. Connection failures are not a verdict: they
raise ``UpstreamUnavailable``. The verdict is cached per URL, so a replaced
session for a legacy upstream skips the probe.

Legacy: ``Mcp-Session-Id`` and ``MCP-Protocol-Version`` on every later
message, transparent re-``initialize`` on 404, ``DELETE`` on close,
``notifications/cancelled`` when the awaiting task is cancelled.
Modern: ``_meta`` envelope and ``MCP-Protocol-Version``/``Mcp-Method``/
``Mcp-Name``/``Mcp-Param-*`` on every request; cancelling closes the stream.
Credential headers come from the ``HeaderSource`` on every request, never from
the session's identity. Unsolicited notifications: see ``_unsolicited``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable
from typing import Any

from msplex import protocol
from msplex.upstream import _rpc, _unsolicited
from msplex.upstream._framing import ModernFraming
from msplex.upstream._http1 import Client, Response
from msplex.upstream._roundtrip import HTTPStatusError, SessionExpired, client_session, error_reply, round_trip
from msplex.upstream.base import (
    JSON,
    Era,
    HeaderSource,
    NotificationSink,
    RequestSink,
    ServerFacts,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamSpec,
    UpstreamUnavailable,
)

__all__ = ["HttpSession"]

log = logging.getLogger("msplex.upstream.http")

_ERA_CACHE: dict[str, Era] = {}
_ENVELOPE_KEYS = (protocol.PROTOCOL_VERSION_META, protocol.CLIENT_CAPABILITIES_META, protocol.CLIENT_INFO_META)


class HttpSession:
    """One pooled Streamable HTTP upstream session (see module docstring)."""

    def __init__(
        self,
        spec: UpstreamSpec,
        *,
        era: Era | None = None,
        http: Client | None = None,
        headers: HeaderSource | None = None,
    ) -> None:
        if not spec.url:
            raise ValueError("an http upstream needs a url")
        self.name = spec.name
        self._url = spec.url
        self._cache_key = spec.url
        self._public_only = spec.public_only
        self._forced_era = era
        self._http = http
        self._own_http = http is None
        self._credentials = headers
        self._facts: ServerFacts | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._base: dict[str, str] = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        self._headers: dict[str, str] = dict(self._base)  # per-era, rebuilt at (re)connect
        self._framing = ModernFraming()
        self._session_id: str | None = None
        self._closed = False
        self._bg: set[asyncio.Task[Any]] = set()
        self.sink: NotificationSink | None = None
        self.server_request_sink: RequestSink | None = None
        self.resource_uris: set[str] = set()
        self.stream = _unsolicited.StreamState()

    # -- contract -------------------------------------------------------------------------------

    @property
    def facts(self) -> ServerFacts | None:
        return self._facts

    @property
    def era(self) -> Era | None:
        return self._facts.era if self._facts else None

    async def start(self) -> ServerFacts:
        if self._facts is not None:
            return self._facts
        async with self._lock:
            if self._facts is None:
                await self._connect()
        assert self._facts is not None
        return self._facts

    async def request(
        self,
        method: str,
        params: JSON | None = None,
        *,
        on_notification: NotificationSink | None = None,
        on_request: RequestSink | None = None,
        caller: str | None = None,
    ) -> JSON:
        """See ``UpstreamSession.request``; ``caller`` is not needed: over HTTP an upstream's
        messages about a request arrive on that request's own response stream."""
        facts = self._facts or await self.start()
        if facts.era == "modern":
            return await self._modern_request(method, params, on_notification)
        sid = self._session_id
        try:
            return await self._legacy_request(method, params, on_notification, on_request)
        except SessionExpired:
            await self._reinitialize(sid)
            try:
                return await self._legacy_request(method, params, on_notification, on_request)
            except SessionExpired:
                raise UpstreamUnavailable(f"upstream {self.name!r} keeps rejecting its session") from None

    async def notify(self, method: str, params: JSON | None = None) -> None:
        facts = self._facts or await self.start()
        msg: JSON = {"jsonrpc": "2.0", "method": method}
        if facts.era == "modern":
            msg["params"] = self._framing.stamp(params)
            await self.post_message(msg, self._framing.headers(self._headers, method, msg["params"]))
            return
        if params is not None:
            msg["params"] = params
        sid = self._session_id
        try:
            await self.post_message(msg)
        except SessionExpired:
            await self._reinitialize(sid)
            await self.post_message(msg)

    def on_unsolicited(self, sink: NotificationSink) -> None:
        self.sink = sink
        if self._facts is not None:
            self._ensure_stream()

    def on_server_request(self, sink: RequestSink) -> None:
        self.server_request_sink = sink

    async def unsolicited_ready(self) -> bool:
        await self.start()
        self._ensure_stream()
        return await self.stream.wait()

    async def subscribe_resource(self, uri: str) -> JSON:
        self.resource_uris.add(uri)
        return await self._resubscribe("resources/subscribe", uri)

    async def unsubscribe_resource(self, uri: str) -> JSON:
        self.resource_uris.discard(uri)
        return await self._resubscribe("resources/unsubscribe", uri)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tasks = list(self._bg)
        if self.stream.task is not None:
            tasks.append(self.stream.task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None and self._session_id is not None and self.era == "legacy":
            try:
                async with asyncio.timeout(2):
                    async with self._http.delete(self._url, headers=await self.get_headers({})) as resp:
                        resp.release()
            except (OSError, TimeoutError):
                log.debug("upstream %r: DELETE of the session failed", self.name)
        if self._own_http and self._http is not None:
            await self._http.close()
        self._facts = None

    # -- plumbing shared with _roundtrip and _unsolicited -------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @property
    def http(self) -> Client:
        if self._http is None:
            raise UpstreamUnavailable(f"upstream {self.name!r} session is not started")
        return self._http

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def session_id(self) -> str | None:
        return self._session_id

    def next_id(self) -> int:
        return next(self._ids)

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    async def get_headers(self, extra: dict[str, str]) -> dict[str, str]:
        """Headers for a GET or DELETE on this session: the era's, the credentials, then ``extra``."""
        headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
        if self._credentials is not None:
            headers.update(await self._credentials())
        headers.update(extra)
        return headers

    async def post_message(self, msg: JSON, headers: dict[str, str] | None = None) -> None:
        """POST a notification or a response (legacy); expects 202/200 and no answer."""
        try:
            async with await self.send(_rpc.encode(msg), headers or self._headers) as r:
                if r.status >= 300:
                    await error_reply(self.name, r, self._session_id is not None)
        except OSError as exc:
            raise UpstreamUnavailable(f"upstream {self.name!r} unreachable ({type(exc).__name__})") from None

    async def send(self, body: bytes, headers: dict[str, str]) -> Response:
        """POST once, with the current credential headers."""
        if self._credentials is not None:
            headers = {**headers, **await self._credentials()}
        return await self.http.post(self._url, data=body, headers=headers)

    def modern_request_parts(self, method: str, params: JSON | None) -> tuple[JSON, dict[str, str]]:
        stamped = self._framing.stamp(params)
        return stamped, self._framing.headers(self._headers, method, stamped)

    async def reinitialize(self, stale: str | None) -> None:
        await self._reinitialize(stale)

    # -- requests ---------------------------------------------------------------------------------

    async def _legacy_request(
        self,
        method: str,
        params: JSON | None,
        on_notification: NotificationSink | None,
        on_request: RequestSink | None,
    ) -> JSON:
        rid = next(self._ids)
        msg: JSON = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            meta = params.get("_meta")
            if isinstance(meta, dict) and _ENVELOPE_KEYS[0] in meta:  # a modern caller's envelope
                params = {**params, "_meta": {k: v for k, v in meta.items() if k not in _ENVELOPE_KEYS}}
            msg["params"] = params
        try:
            return await round_trip(self, _rpc.encode(msg), self._headers, rid, on_notification, on_request, True)
        except asyncio.CancelledError:
            cancel = {
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": rid, "reason": "cancelled by the gateway"},
            }
            self.spawn(self._quiet(self.post_message(cancel)))
            raise

    async def _modern_request(self, method: str, params: JSON | None, on_notification: NotificationSink | None) -> JSON:
        rid = next(self._ids)
        stamped = self._framing.stamp(params)
        body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": method, "params": stamped})
        headers = self._framing.headers(self._headers, method, stamped)
        reply = await round_trip(self, body, headers, rid, on_notification, None, False)
        if method == "tools/list" and "result" in reply:
            self._framing.learn(reply["result"])
        return reply

    @staticmethod
    async def _quiet(aw: Awaitable[Any]) -> None:
        with contextlib.suppress(UpstreamError, SessionExpired):
            await aw

    # -- connecting -------------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self._closed:
            raise UpstreamUnavailable(f"upstream {self.name!r} session is closed")
        if self._http is None:
            self._http = client_session(public_only=self._public_only)
        era = self._forced_era or _ERA_CACHE.get(self._cache_key)
        facts: ServerFacts | None = None
        if era != "legacy":
            facts = await self._discover()
        if facts is None:
            if era == "modern" and self._forced_era:
                raise UpstreamProtocolError(f"upstream {self.name!r} does not speak 2026-07-28")
            facts = await self._initialize()
        if self._forced_era is None:
            _ERA_CACHE[self._cache_key] = facts.era
        self._facts = facts
        if facts.era == "legacy":
            for uri in sorted(self.resource_uris):
                await self._quiet(self._legacy_request("resources/subscribe", {"uri": uri}, None, None))
        self._ensure_stream()

    async def _discover(self) -> ServerFacts | None:
        version = protocol.MODERN_VERSION
        envelope = dict(zip(_ENVELOPE_KEYS, (version, _rpc.CAPABILITIES, _rpc.CLIENT_INFO), strict=True))
        headers = {**self._base, "MCP-Protocol-Version": version, "Mcp-Method": "server/discover"}
        rid = next(self._ids)
        body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": "server/discover", "params": {"_meta": envelope}})
        try:
            reply = await round_trip(self, body, headers, rid, None, None, False)
        except (UpstreamProtocolError, HTTPStatusError):
            return None  # not modern evidence
        result = reply.get("result")
        if not isinstance(result, dict):
            return None
        supported = result.get("supportedVersions")
        if not isinstance(supported, list) or version not in supported:
            return None
        self._framing.envelope = envelope
        self._headers = {**self._base, "MCP-Protocol-Version": version}
        meta = result.get("_meta")
        info = meta.get(protocol.SERVER_INFO_META) if isinstance(meta, dict) else None
        return _rpc.server_facts("modern", version, info, result)

    async def _initialize(self) -> ServerFacts:
        rid = next(self._ids)
        params = {
            "protocolVersion": protocol.LEGACY_VERSION,
            "capabilities": _rpc.CAPABILITIES,
            "clientInfo": _rpc.CLIENT_INFO,
        }
        body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params})
        sid: list[str] = []

        def capture(resp: Response) -> None:
            if value := resp.headers.get("Mcp-Session-Id"):
                sid.append(value)

        self._session_id = None
        reply = await round_trip(self, body, self._base, rid, None, None, True, capture)
        result = reply.get("result")
        if result is None:
            raise UpstreamProtocolError(
                f"upstream {self.name!r} refused initialize (code {reply['error'].get('code')})"
            )
        version = result.get("protocolVersion")
        if version not in protocol.LEGACY_VERSIONS:
            raise UpstreamProtocolError(f"upstream {self.name!r} negotiated an unsupported protocol version")
        self._session_id = sid[0] if sid else None
        self._headers = {**self._base, "MCP-Protocol-Version": version}
        if self._session_id:
            self._headers["Mcp-Session-Id"] = self._session_id
        try:
            await self.post_message({"jsonrpc": "2.0", "method": "notifications/initialized"})
        except SessionExpired:
            raise UpstreamProtocolError(f"upstream {self.name!r} forgot the session it just created") from None
        return _rpc.server_facts("legacy", version, result.get("serverInfo"), result)

    async def _reinitialize(self, stale: str | None) -> None:
        """Single flight: whoever sees the 404 first re-initializes; the rest reuse its session."""
        async with self._lock:
            if self._closed:
                raise UpstreamUnavailable(f"upstream {self.name!r} session is closed")
            if self._facts is not None and self._session_id != stale:
                return
            log.info("upstream %r: session expired, re-initializing", self.name)
            self._facts = None
            await self._connect()

    async def _resubscribe(self, method: str, uri: str) -> JSON:
        facts = await self.start()
        if facts.era == "legacy":
            return await self.request(method, {"uri": uri})
        self.stream.restart(self)
        if not await self.stream.wait():
            return _rpc.error_response(protocol.METHOD_NOT_FOUND, "upstream offers no subscriptions")
        return {"result": {}}

    def _ensure_stream(self) -> None:
        if self.sink is not None or self.resource_uris:
            self.stream.ensure(self)
