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
Unsolicited notifications: see ``_unsolicited``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from msplex.upstream import _rpc, _unsolicited
from msplex.upstream._headers import NAME_KEYS, ParamMap, encode_header_value, param_header_map, param_headers
from msplex.upstream._http1 import Client, Response
from msplex.upstream._wire import HTTPStatusError, SessionExpired, client_session, error_reply, read_reply
from msplex.upstream.base import (
    JSON,
    Era,
    NotificationSink,
    RequestSink,
    ServerFacts,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamSpec,
    UpstreamUnavailable,
)
from msplex.upstream.sse import SSEParser

__all__ = ["HttpSession"]

log = logging.getLogger("msplex.upstream.http")

_ERA_CACHE: dict[str, Era] = {}
_ENVELOPE_KEYS = (
    "io.modelcontextprotocol/protocolVersion",
    "io.modelcontextprotocol/clientCapabilities",
    "io.modelcontextprotocol/clientInfo",
)
_RESUME_ATTEMPTS = 3


class HttpSession:
    """One pooled Streamable HTTP upstream session (see module docstring)."""

    def __init__(self, spec: UpstreamSpec, *, era: Era | None = None, http: Client | None = None):
        if not spec.url:
            raise ValueError("an http upstream needs a url")
        self.name = spec.name
        self._url = spec.url
        self._cache_key = spec.url
        self._forced_era = era
        self._http = http
        self._own_http = http is None
        self._facts: ServerFacts | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._base: dict[str, str] = {k: v for k, v in spec.headers}
        self._base.setdefault("Accept", "application/json, text/event-stream")
        self._base["Content-Type"] = "application/json"
        self._headers: dict[str, str] = dict(self._base)  # per-era, rebuilt at (re)connect
        self._envelope: JSON = {}
        self._session_id: str | None = None
        self._param_maps: dict[str, ParamMap] = {}
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
    ) -> JSON:
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
            msg["params"] = self._stamp(params)
            await self.post_message(msg, self._modern_headers(method, msg["params"]))
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
        """Answerer for server-to-client requests not tied to a request (legacy GET stream)."""
        self.server_request_sink = sink

    async def unsolicited_ready(self) -> bool:
        """Wait until the unsolicited channel is open; ``False`` if the upstream has none."""
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
                    async with self._http.delete(self._url, headers=self._headers) as resp:
                        resp.release()
            except (OSError, TimeoutError):
                log.debug("upstream %r: DELETE of the session failed", self.name)
        if self._own_http and self._http is not None:
            await self._http.close()
        self._facts = None

    # -- plumbing shared with _unsolicited --------------------------------------------------------

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
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def session_id(self) -> str | None:
        return self._session_id

    def next_id(self) -> int:
        return next(self._ids)

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    async def post_message(self, msg: JSON, headers: dict[str, str] | None = None) -> None:
        """POST a notification or a response (legacy); expects 202/200 and no answer."""
        try:
            async with await self.send(_rpc.encode(msg), headers or self._headers) as r:
                if r.status >= 300:
                    await error_reply(self.name, r, self._session_id is not None)
        except OSError as exc:
            raise UpstreamUnavailable(f"upstream {self.name!r} unreachable ({type(exc).__name__})") from None

    async def send(self, body: bytes, headers: dict[str, str]) -> Response:
        """POST once; a pooled connection the upstream closed meanwhile (idle timeout, restart)
        fails before any answer, so that one case is retried on a fresh connection."""
        return await self.http.post(self._url, data=body, headers=headers)

    def modern_request_parts(self, method: str, params: JSON | None) -> tuple[JSON, dict[str, str]]:
        stamped = self._stamp(params)
        return stamped, self._modern_headers(method, stamped)

    async def reinitialize(self, stale: str | None) -> None:
        await self._reinitialize(stale)

    # -- requests ---------------------------------------------------------------------------------

    async def _exchange(
        self,
        body: bytes,
        headers: dict[str, str],
        rid: int,
        on_notification: NotificationSink | None,
        on_request: RequestSink | None,
        legacy: bool,
        on_response: Callable[[Response], None] | None = None,
    ) -> JSON:
        answer = self._post_answer if legacy else None
        parser = SSEParser()
        try:
            resp = await self.send(body, headers)
            reply = None
            try:
                if resp.status >= 300:
                    return await error_reply(self.name, resp, legacy and self._session_id is not None)
                if resp.status == 202:
                    raise UpstreamProtocolError(f"upstream {self.name!r} answered a request with 202")
                if on_response is not None:
                    on_response(resp)
                reply = await read_reply(self.name, resp, rid, on_notification, on_request, answer, parser)
            finally:
                self._finish(resp, reply is not None)
            attempts = 0
            while reply is None:  # legacy SSE polling / resumption (SEP-1699)
                if not legacy or parser.last_event_id is None or attempts >= _RESUME_ATTEMPTS:
                    raise UpstreamUnavailable(f"upstream {self.name!r} closed the stream before answering")
                attempts += 1
                await asyncio.sleep((parser.retry or 100) / 1000)
                hdrs = {**self._headers, "Accept": "text/event-stream", "Last-Event-ID": parser.last_event_id}
                async with self.http.get(self._url, headers=hdrs) as resp:
                    if resp.status >= 300:
                        return await error_reply(self.name, resp, self._session_id is not None)
                    reply = await read_reply(self.name, resp, rid, on_notification, on_request, answer, parser)
            return reply
        except OSError as exc:
            raise UpstreamUnavailable(f"upstream {self.name!r} unreachable ({type(exc).__name__})") from None

    def _finish(self, resp: Response, answered: bool) -> None:
        """Release the response. An SSE stream that delivered its answer is drained in the background
        so its keep-alive connection returns to the pool; anything else unfinished is closed, which
        for a modern upstream is also how a cancelled request is cancelled."""
        if answered and not resp.content.at_eof():
            self.spawn(self._drain(resp))
        else:
            resp.release()

    @staticmethod
    async def _drain(resp: Response) -> None:
        try:
            async with asyncio.timeout(10):
                while await resp.content.readany():
                    pass
        except (TimeoutError, OSError):
            resp.close()
        else:
            resp.release()

    async def _post_answer(self, reply: JSON) -> None:
        await self.post_message(reply)

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
            return await self._exchange(_rpc.encode(msg), self._headers, rid, on_notification, on_request, True)
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
        stamped = self._stamp(params)
        body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": method, "params": stamped})
        reply = await self._exchange(body, self._modern_headers(method, stamped), rid, on_notification, None, False)
        if method == "tools/list" and "result" in reply:
            self._learn_param_headers(reply["result"])
        return reply

    def _stamp(self, params: JSON | None) -> JSON:
        out = dict(params) if params else {}
        meta = out.get("_meta")
        # The caller's envelope keys win: a gateway forwards its client's capabilities.
        out["_meta"] = {**self._envelope, **meta} if isinstance(meta, dict) else self._envelope
        return out

    def _modern_headers(self, method: str, params: JSON) -> dict[str, str]:
        headers = dict(self._headers)
        headers["Mcp-Method"] = method
        key = NAME_KEYS.get(method)
        if key is not None:
            value = params.get(key)
            if isinstance(value, str):
                headers["Mcp-Name"] = encode_header_value(value)
            if method == "tools/call" and self._param_maps:
                mapping = self._param_maps.get(value) if isinstance(value, str) else None
                if mapping:
                    headers.update(param_headers(mapping, params.get("arguments")))
        return headers

    def _learn_param_headers(self, result: JSON) -> None:
        """Remember which tools mirror arguments into ``Mcp-Param-*`` headers (from ``x-mcp-header``)."""
        tools = result.get("tools")
        if not isinstance(tools, list):
            return
        for tool in tools:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                mapping = param_header_map(tool.get("inputSchema"))
                if mapping:
                    self._param_maps[tool["name"]] = mapping
                else:
                    self._param_maps.pop(tool["name"], None)

    @staticmethod
    async def _quiet(aw: Awaitable[Any]) -> None:
        with contextlib.suppress(UpstreamError, SessionExpired):
            await aw

    # -- connecting -------------------------------------------------------------------------------

    async def _connect(self) -> None:
        if self._closed:
            raise UpstreamUnavailable(f"upstream {self.name!r} session is closed")
        if self._http is None:
            self._http = client_session()
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
        version = _rpc.MODERN_VERSION
        envelope = {
            _ENVELOPE_KEYS[0]: version,
            _ENVELOPE_KEYS[1]: _rpc.CAPABILITIES,
            _ENVELOPE_KEYS[2]: _rpc.CLIENT_INFO,
        }
        headers = {**self._base, "MCP-Protocol-Version": version, "Mcp-Method": "server/discover"}
        rid = next(self._ids)
        body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": "server/discover", "params": {"_meta": envelope}})
        try:
            reply = await self._exchange(body, headers, rid, None, None, False)
        except (UpstreamProtocolError, HTTPStatusError):
            return None  # not modern evidence
        result = reply.get("result")
        if not isinstance(result, dict):
            return None
        supported = result.get("supportedVersions")
        if not isinstance(supported, list) or version not in supported:
            return None
        self._envelope = envelope
        self._headers = {**self._base, "MCP-Protocol-Version": version}
        meta = result.get("_meta")
        info = meta.get("io.modelcontextprotocol/serverInfo") if isinstance(meta, dict) else None
        return _rpc.server_facts("modern", version, info, result)

    async def _initialize(self) -> ServerFacts:
        rid = next(self._ids)
        params = {
            "protocolVersion": _rpc.LEGACY_VERSION,
            "capabilities": _rpc.CAPABILITIES,
            "clientInfo": _rpc.CLIENT_INFO,
        }
        body = _rpc.encode({"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params})
        sid: list[str] = []

        def capture(resp: Response) -> None:
            value = resp.headers.get("Mcp-Session-Id")
            if value:
                sid.append(value)

        self._session_id = None
        reply = await self._exchange(body, self._base, rid, None, None, True, capture)
        result = reply.get("result")
        if result is None:
            raise UpstreamProtocolError(
                f"upstream {self.name!r} refused initialize (code {reply['error'].get('code')})"
            )
        version = result.get("protocolVersion")
        if version not in _rpc.LEGACY_VERSIONS:
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
        ok = await self.stream.wait()
        if not ok:
            return _rpc.error_response(-32601, "upstream offers no subscriptions")
        return {"result": {}}

    def _ensure_stream(self) -> None:
        if self.sink is not None or self.resource_uris:
            self.stream.ensure(self)
