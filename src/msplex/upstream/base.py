"""The contract between the federation layer and one upstream MCP server.

Below: a transport (Streamable HTTP in either protocol era, or a supervised
stdio child). Above: the catalogue and the router, which only ever see raw
JSON-RPC dicts, so unknown fields (annotations, icons, ``outputSchema``,
``structuredContent``, ``_meta``) pass through untouched.

Invariants every implementation keeps:

* One long-lived upstream session per ``UpstreamSession`` object; a call never
  opens a new upstream session. Reconnection after a failure is the
  session's own business and is invisible to callers except as latency.
* ``request`` assigns its own JSON-RPC id; callers never choose upstream ids.
* Cancelling the task awaiting ``request`` cancels the upstream request
  (``notifications/cancelled`` for legacy sessions and stdio, closing the
  response stream for the 2026-07-28 era).
* Upstream failures surface as ``UpstreamError`` subclasses, never as a
  transport library's exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "Era",
    "HeaderSource",
    "NotificationSink",
    "RequestSink",
    "ServerFacts",
    "Transport",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamSession",
    "UpstreamSpec",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]

Era = Literal["legacy", "modern"]

JSON = dict[str, Any]

NotificationSink = Callable[[JSON], Awaitable[None]]
"""Receives a JSON-RPC notification dict (``{"jsonrpc", "method", "params"}``)."""

RequestSink = Callable[[JSON], Awaitable[JSON]]
"""Answers a server-to-client request dict; returns ``{"result": ...}`` or ``{"error": ...}``."""

HeaderSource = Callable[[], Awaitable[Mapping[str, str]]]
"""The credential headers to send with the next request: asked per request, so a refreshed credential
takes effect without replacing the pooled session (it is not part of the session's identity)."""


class UpstreamError(Exception):
    """Base of everything an upstream session raises.

    UpstreamError
     ├── UpstreamUnavailable    cannot connect, process exited, HTTP 5xx
     ├── UpstreamTimeout        no answer within the deadline
     └── UpstreamProtocolError  answered, but not with valid MCP/JSON-RPC
    """


class UpstreamUnavailable(UpstreamError):
    pass


class UpstreamTimeout(UpstreamError):
    pass


class UpstreamProtocolError(UpstreamError):
    pass


@dataclass(frozen=True, slots=True)
class ServerFacts:
    """What the upstream said about itself when the session was established."""

    era: Era
    protocol_version: str
    server_info: JSON = field(default_factory=dict)
    capabilities: JSON = field(default_factory=dict)
    instructions: str | None = None


class UpstreamSession(Protocol):
    """One pooled, long-lived connection to one upstream MCP server."""

    name: str

    @property
    def facts(self) -> ServerFacts | None:
        """``None`` until the first successful ``start``."""

    async def start(self) -> ServerFacts:
        """Connect (detecting the era for HTTP) and handshake; idempotent."""

    async def request(
        self,
        method: str,
        params: JSON | None = None,
        *,
        on_notification: NotificationSink | None = None,
        on_request: RequestSink | None = None,
        caller: str | None = None,
    ) -> JSON:
        """Send one request and return the upstream's JSON-RPC response dict.

        The returned dict has exactly one of ``result`` or ``error`` (a JSON-RPC
        error from the upstream is *returned*, not raised). Notifications the
        upstream relates to this request (progress, log messages) go to
        ``on_notification``; server-to-client requests it makes while serving
        this request (legacy era: sampling, elicitation, roots) go to
        ``on_request`` and the answer is sent back to the upstream. Without an
        ``on_request`` such requests are answered by the session itself (``ping``, an
        empty ``roots/list``) or with a JSON-RPC error. ``caller`` names the client
        connection the request serves: where the transport cannot relate an
        upstream message to a request (stdio), it goes to a request only when
        every request that could take it serves the same caller, never to a stranger.
        Deadlines are the caller's (``asyncio.timeout``); cancellation
        propagates upstream. For a 2026-07-28 upstream an ``InputRequiredResult`` is returned as an
        ordinary result; bridging it is the caller's job.
        """

    async def notify(self, method: str, params: JSON | None = None) -> None:
        """Send a client-to-server notification (e.g. ``notifications/roots/list_changed``)."""

    def on_unsolicited(self, sink: NotificationSink) -> None:
        """Register the receiver of notifications not tied to a request
        (``notifications/*/list_changed``, ``notifications/resources/updated``,
        log messages outside any request). Legacy HTTP upstreams deliver these
        on the standalone GET stream, which the session keeps open (and
        reopens) while a sink is registered; 2026-07-28 upstreams deliver them
        through ``subscriptions/listen``; stdio upstreams on stdout. Each time an HTTP
        channel (re)opens, the sink first gets ``notifications/msplex/channel_opened``:
        notifications sent while it was closed are lost, so cached lists must be re-read."""

    def on_server_request(self, sink: RequestSink) -> None:
        """Register the answerer of server-to-client requests tied to no request of ours."""

    async def unsolicited_ready(self) -> bool:
        """Wait until the unsolicited channel is open; ``False`` if the upstream has none."""

    async def subscribe_resource(self, uri: str) -> JSON:
        """Legacy upstreams: ``resources/subscribe`` (replayed after a re-initialize); 2026-07-28:
        a re-issued ``subscriptions/listen`` naming the current set. Returns the response dict;
        updates arrive at the ``on_unsolicited`` sink."""

    async def unsubscribe_resource(self, uri: str) -> JSON: ...

    async def close(self) -> None:
        """Terminate the upstream session (HTTP DELETE / stop the child) and release everything."""


Transport = Literal["http", "stdio"]


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    """How to reach one upstream; built from the store, compared by value so a changed
    registration replaces its pooled session. Credential headers are not part of it: they are
    supplied per request (``HeaderSource``). A stdio child's ``env`` is, because it can only be
    given at spawn."""

    tenant_id: str
    name: str
    transport: Transport
    url: str | None = None
    command: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """May carry credentials: never in a repr, a log line or an error."""
    public_only: bool = False
    """Connect only to public addresses (an upstream a tenant registered: ``upstream.addresses``)."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant_id, self.name)
