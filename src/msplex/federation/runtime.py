"""One tenant's upstreams served as one MCP server.

A ``TenantRuntime`` serves a tenant's MCP methods from its merged catalogue
and forwards calls over pooled upstream sessions. Listings are refreshed when an upstream says its lists changed,
when its registration changes, and after a failure; a failed refresh keeps
the last good listing and marks the upstream unhealthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from msplex.catalogue.federated import KINDS, Catalogue, Listing, UpstreamView
from msplex.errors import RpcError
from msplex.federation.events import Event
from msplex.federation.forward import forward
from msplex.mcp import wire
from msplex.mcp.params import param_header_mismatch
from msplex.upstream import list_all
from msplex.upstream.base import UpstreamError, UpstreamSession, UpstreamSpec
from msplex.upstream.lists import ListError

if TYPE_CHECKING:
    from msplex.call import Call
    from msplex.federation.gateway import Gateway

__all__ = ["PROBE_SECONDS", "TenantRuntime", "UpstreamEntry"]

log = logging.getLogger("msplex.federation")

JSON = dict[str, Any]
LIST_DEADLINE = 10.0
FIRST_LIST_WAIT = 5.0
PAGE_SIZE = 100
PROBE_SECONDS = 10.0
REQUEST_TIMEOUT = -32001
RETRY_MIN = 1.0
RETRY_MAX = 30.0


@dataclass(frozen=True, slots=True)
class UpstreamEntry:
    """An upstream registration as the control plane states it."""

    spec: UpstreamSpec
    prefixed: bool = True
    order: int = 0


@dataclass
class _Health:
    state: str = "starting"
    error: str | None = None
    last_ok_at: float | None = None
    tools: int = 0


@dataclass
class _Upstream:
    entry: UpstreamEntry
    listing: Listing | None = None
    health: _Health = field(default_factory=_Health)
    refresh: asyncio.Task[None] | None = None
    dirty: bool = False
    subscribed: bool = False
    backoff: float = 0.0
    contact: float = 0.0
    """When the upstream last answered (monotonic): a quiet upstream gets probed."""
    announce: set[str] = field(default_factory=set)
    """List kinds the upstream said changed; clients hear of them even if our merge looks equal."""
    retry: asyncio.TimerHandle | None = None


class TenantRuntime:
    def __init__(self, gateway: Gateway, tenant_id: str, slug: str, name: str, allow_anonymous: bool) -> None:
        self.gateway = gateway
        self.id = tenant_id
        self.slug = slug
        self.name = name
        self.allow_anonymous = allow_anonymous
        self._upstreams: dict[str, _Upstream] = {}
        self._version = 0
        self.catalogue = Catalogue.build(0, [])
        self._subscriptions: dict[str, set[str]] = {}

    # control plane -------------------------------------------------------

    def apply(self, entries: Iterable[UpstreamEntry]) -> None:
        wanted = {e.spec.name: e for e in entries}
        for name in list(self._upstreams):
            if name not in wanted:
                _stop(self._upstreams.pop(name))
        for name, entry in wanted.items():
            state = self._upstreams.get(name)
            if state is None or state.entry != entry:
                spec_changed = state is None or state.entry.spec != entry.spec
                if state is None:
                    state = _Upstream(entry)
                    self._upstreams[name] = state
                else:
                    state.entry = entry
                if spec_changed:
                    state.subscribed = False
                    self.schedule_refresh(name)
        self._rebuild()

    def close(self) -> None:
        for state in self._upstreams.values():
            _stop(state)

    # listings ------------------------------------------------------------

    def schedule_refresh(self, name: str) -> None:
        state = self._upstreams.get(name)
        if state is None:
            return
        if state.refresh is not None and not state.refresh.done():
            state.dirty = True
            return
        if state.retry is not None:
            state.retry.cancel()
            state.retry = None
        state.refresh = asyncio.get_running_loop().create_task(self._refresh(name))

    async def _refresh(self, name: str) -> None:
        while True:
            state = self._upstreams.get(name)
            if state is None:
                return
            state.dirty = False
            try:
                # The deadline covers the handshake too: an upstream that accepts the
                # connection and never answers must end up unhealthy, not "starting" forever.
                async with asyncio.timeout(LIST_DEADLINE):
                    session = await self.gateway.pool.get(state.entry.spec)
                    if not state.subscribed:
                        session.on_unsolicited(self._unsolicited_sink(name))
                        state.subscribed = True
                    facts = session.facts or await session.start()
                    caps = facts.capabilities or {}
                    lists: JSON = {}
                    for method, key in KINDS.items():
                        family = "resources" if key == "resourceTemplates" else key
                        lists[key] = await _list_kind(session, method, key) if family in caps else ()
                listing = Listing(**lists)
            except asyncio.CancelledError:
                raise
            except (UpstreamError, TimeoutError, OSError, ValueError) as exc:
                state.health.state = "unhealthy"
                state.health.error = _describe(exc)
                log.warning("upstream %s/%s unhealthy: %s", self.slug, name, state.health.error)
                if not state.dirty:
                    state.backoff = min(max(RETRY_MIN, state.backoff * 2), RETRY_MAX)
                    state.retry = asyncio.get_running_loop().call_later(state.backoff, self.schedule_refresh, name)
                    return
                continue
            if self._upstreams.get(name) is not state:
                return
            state.health = _Health("healthy", None, time.time(), len(listing.tools))
            state.contact = time.monotonic()
            state.backoff = 0.0
            if listing != state.listing or state.announce:
                state.listing = listing
                announce, state.announce = state.announce, set()
                self._rebuild(announce)
            if not state.dirty:
                return

    def _unsolicited_sink(self, name: str) -> Callable[[JSON], Any]:
        async def sink(message: JSON) -> None:
            method = message.get("method", "")
            if method == "notifications/msplex/channel_opened":
                self.schedule_refresh(name)  # changes made while nobody listened
            elif method.endswith("/list_changed"):
                kind = method.removeprefix("notifications/").removesuffix("/list_changed")
                state = self._upstreams.get(name)
                if state is not None and kind in ("tools", "prompts", "resources"):
                    state.announce.add(kind)
                self.schedule_refresh(name)
            elif method == "notifications/resources/updated":
                uri = (message.get("params") or {}).get("uri")
                state = self._upstreams.get(name)
                if isinstance(uri, str) and state is not None:
                    public = f"{name}+{uri}" if state.entry.prefixed else uri
                    self.gateway.publish(Event(self.id, "updated", public))

        return sink

    def _rebuild(self, announce: set[str] | frozenset[str] = frozenset()) -> None:
        old = self.catalogue
        ordered = sorted(self._upstreams.values(), key=lambda s: (s.entry.order, s.entry.spec.name))
        views = [UpstreamView(s.entry.spec.name, s.entry.prefixed, s.listing or Listing()) for s in ordered]
        self._version += 1
        new = Catalogue.build(self._version, views)
        self.catalogue = new
        for kind in ("tools", "prompts", "resources"):
            keys = ("resources", "resourceTemplates") if kind == "resources" else (kind,)
            if kind in announce or any(old.items.get(k) != new.items.get(k) for k in keys):
                self.gateway.publish(Event(self.id, kind))

    async def _ensure_listed(self, *, retry_failed: bool = False) -> None:
        """Give never-listed upstreams a moment to answer.

        A list waits only for first attempts: an upstream already marked unhealthy is retried in
        the background with backoff, or a hanging one would add FIRST_LIST_WAIT to every list of
        the tenant. A call naming an item nobody lists (``retry_failed``) retries such upstreams
        at once and waits for them too: right after start-up the upstream may simply be late.
        """
        for name, state in self._upstreams.items():
            idle = state.refresh is None or state.refresh.done()
            if state.listing is None and idle and (state.health.state == "starting" or retry_failed):
                self.schedule_refresh(name)
        pending = [
            s.refresh
            for s in self._upstreams.values()
            if s.listing is None
            and (s.health.state == "starting" or retry_failed)
            and s.refresh
            and not s.refresh.done()
        ]
        if pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FIRST_LIST_WAIT):
                    await asyncio.wait(pending)

    def probe(self, quiet_for: float) -> None:
        """Re-list upstreams nothing has heard from in ``quiet_for`` seconds: how one that died
        between calls is found out, and how lists of upstreams that never announce changes stay fresh."""
        cutoff = time.monotonic() - quiet_for
        for name, state in self._upstreams.items():
            if state.contact < cutoff and state.retry is None:
                self.schedule_refresh(name)

    def health(self) -> dict[str, JSON]:
        return {
            name: {
                "state": s.health.state,
                "error": s.health.error,
                "last_ok_at": s.health.last_ok_at,
                "tools": len(s.listing.tools) if s.listing else 0,
            }
            for name, s in self._upstreams.items()
        }

    # serving -------------------------------------------------------------

    async def handle(self, call: Call) -> JSON:
        method = call.method
        params = call.params
        if method == "tools/call":
            name = params.get("name")
            route = self.catalogue.tools.get(name) if isinstance(name, str) else None
            if route is None:
                await self._ensure_listed(retry_failed=True)
                route = self.catalogue.tools.get(name) if isinstance(name, str) else None
                if route is None:
                    raise RpcError(wire.INVALID_PARAMS, f"Unknown tool: {name}")
            if call.era == "modern" and call.headers is not None and route.item is not None:
                problem = param_header_mismatch(route.item.get("inputSchema"), params.get("arguments"), call.headers)
                if problem is not None:
                    raise RpcError(wire.HEADER_MISMATCH, problem)
            return await self._forward(route.upstream, call, method, {**params, "name": route.name})
        if method in KINDS:
            await self._ensure_listed()
            cursor = params.get("cursor")
            try:
                return self.catalogue.page(method, cursor, PAGE_SIZE)
            except ValueError:
                raise RpcError(wire.INVALID_PARAMS, "Invalid cursor") from None
        if method == "prompts/get":
            name = params.get("name")
            route = self.catalogue.prompts.get(name) if isinstance(name, str) else None
            if route is None:
                await self._ensure_listed(retry_failed=True)
                route = self.catalogue.prompts.get(name) if isinstance(name, str) else None
                if route is None:
                    raise RpcError(wire.INVALID_PARAMS, f"Unknown prompt: {name}")
            return await self._forward(route.upstream, call, method, {**params, "name": route.name})
        if method == "resources/read":
            uri = params.get("uri")
            route = self.catalogue.route_uri(uri) if isinstance(uri, str) else None
            if route is None:
                raise RpcError(wire.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})
            result = await self._forward(route.upstream, call, method, {**params, "uri": route.name})
            return _rewrite_contents(result, route.name, uri)
        if method in ("resources/subscribe", "resources/unsubscribe"):
            return await self._subscription(call, method)
        if method == "completion/complete":
            return await self._complete(call)
        if method == "notifications/roots/list_changed":
            return {}
        raise RpcError(wire.METHOD_NOT_FOUND, f"Method not found: {method}")

    async def _forward(self, upstream: str, call: Call, method: str, params: JSON) -> JSON:
        state = self._upstreams.get(upstream)
        if state is None:
            raise RpcError(wire.INVALID_PARAMS, f"upstream {upstream!r} is no longer registered")
        deadline = self.gateway.call_deadline
        try:
            async with asyncio.timeout(deadline):
                session = await self.gateway.pool.get(state.entry.spec)
                result = await forward(session, call, method, params, self.gateway.parked)
            state.contact = time.monotonic()
            return result
        except TimeoutError:
            raise RpcError(REQUEST_TIMEOUT, f"upstream {upstream!r} did not answer within {deadline:g} s") from None
        except UpstreamError as exc:
            state.health.state = "unhealthy"
            state.health.error = _describe(exc)
            self.schedule_refresh(upstream)
            raise RpcError(wire.INTERNAL_ERROR, f"upstream {upstream!r} failed: {state.health.error}") from None

    async def _subscription(self, call: Call, method: str) -> JSON:
        uri = call.params.get("uri")
        if not isinstance(uri, str) or self.catalogue.route_uri(uri) is None:
            raise RpcError(wire.INVALID_PARAMS, f"Resource not found: {uri}", {"uri": uri})
        subscriber = call.session_id or ""
        if method == "resources/subscribe":
            await self._hold(uri, subscriber)
        else:
            await self._release(uri, subscriber)
        return {}

    def is_subscribed(self, uri: str, subscriber: str) -> bool:
        return subscriber in self._subscriptions.get(uri, ())

    async def watch_resources(self, subscriber: str, uris: Iterable[str]) -> None:
        for uri in uris:
            if self.catalogue.route_uri(uri) is not None:
                await self._hold(uri, subscriber)

    async def drop_subscriber(self, subscriber: str) -> None:
        for uri in [u for u, holders in self._subscriptions.items() if subscriber in holders]:
            await self._release(uri, subscriber)

    async def _hold(self, uri: str, subscriber: str) -> None:
        holders = self._subscriptions.setdefault(uri, set())
        first = not holders
        holders.add(subscriber)
        if first:
            await self._upstream_subscription(uri, True)

    async def _release(self, uri: str, subscriber: str) -> None:
        holders = self._subscriptions.get(uri)
        if holders is None or subscriber not in holders:
            return
        holders.discard(subscriber)
        if not holders:
            del self._subscriptions[uri]
            await self._upstream_subscription(uri, False)

    async def _upstream_subscription(self, uri: str, on: bool) -> None:
        route = self.catalogue.route_uri(uri)
        state = self._upstreams.get(route.upstream) if route is not None else None
        if route is None or state is None:
            return
        try:
            session = await self.gateway.pool.get(state.entry.spec)
            if on:
                await session.subscribe_resource(route.name)
            else:
                await session.unsubscribe_resource(route.name)
        except UpstreamError as exc:
            log.warning("resource subscription at %s/%s failed: %s", self.slug, route.upstream, _describe(exc))

    async def _complete(self, call: Call) -> JSON:
        ref = call.params.get("ref") or {}
        if ref.get("type") == "ref/prompt":
            route = self.catalogue.prompts.get(ref.get("name", ""))
            if route is None:
                raise RpcError(wire.INVALID_PARAMS, f"Unknown prompt: {ref.get('name')}")
            new_ref = {**ref, "name": route.name}
        elif ref.get("type") == "ref/resource":
            route = self.catalogue.route_uri(ref.get("uri", ""))
            if route is None:
                raise RpcError(wire.INVALID_PARAMS, f"Resource not found: {ref.get('uri')}")
            new_ref = {**ref, "uri": route.name}
        else:
            raise RpcError(wire.INVALID_PARAMS, "completion/complete needs a ref/prompt or ref/resource")
        return await self._forward(route.upstream, call, "completion/complete", {**call.params, "ref": new_ref})

    @property
    def instructions(self) -> str | None:
        return None

    def capabilities(self, *, modern: bool = False) -> JSON:
        """What this tenant's endpoint offers. 2026-07-28 has no ``logging`` capability
        (log level rides each request) and subscribes through ``subscriptions/listen``."""
        caps: JSON = {
            "tools": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": True},
            "prompts": {"listChanged": True},
            "completions": {},
        }
        if not modern:
            caps["logging"] = {}
        return caps


async def _list_kind(session: UpstreamSession, method: str, key: str) -> tuple[JSON, ...]:
    """All items of one kind; a kind the upstream does not implement is empty, not a failure."""
    try:
        return tuple(await list_all(session, method, key))
    except ListError as exc:
        if exc.error.get("code") == wire.METHOD_NOT_FOUND:
            return ()
        raise


def _rewrite_contents(result: JSON, upstream_uri: str, public_uri: str) -> JSON:
    if upstream_uri == public_uri:
        return result
    contents = result.get("contents")
    if not isinstance(contents, list):
        return result
    prefix = public_uri[: len(public_uri) - len(upstream_uri)]
    return {
        **result,
        "contents": [
            {**c, "uri": prefix + c["uri"]} if isinstance(c, dict) and isinstance(c.get("uri"), str) else c
            for c in contents
        ],
    }


def _stop(state: _Upstream) -> None:
    if state.refresh is not None:
        state.refresh.cancel()
    if state.retry is not None:
        state.retry.cancel()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text[:300]
