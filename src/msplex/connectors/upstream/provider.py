"""Upstream MCP servers as a catalogue provider: registrations, listings, health.

Listings are refreshed when an upstream says its lists changed, when its
registration changes, when its notification channel (re)opens, when it has
been quiet for a while (``probe``), and after a failure. A failed refresh keeps
the last good listing, marks the upstream unhealthy and is retried with
exponential backoff; nothing a client does (calls, lists, unknown names)
shortens that backoff, so a dead upstream costs one attempt per backoff period
and one warning when it goes down, not one per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from msplex.catalogue.listing import JSON, Listing, Source
from msplex.catalogue.naming import public_uri
from msplex.catalogue.provider import Health, Publish
from msplex.connectors.upstream.connector import UpstreamConnector
from msplex.connectors.upstream.listing import read_listing
from msplex.connectors.upstream.redact import redact_text
from msplex.events import Event
from msplex.upstream import UpstreamError, UpstreamSession, UpstreamSpec

if TYPE_CHECKING:
    from msplex.catalogue.tenant import TenantCatalogue
    from msplex.connectors.upstream.connector import ConnectorServices
    from msplex.connectors.upstream.subscriptions import Subscriptions
    from msplex.events import EventBus
    from msplex.store.records import UpstreamEntry

__all__ = ["LIST_DEADLINE", "UpstreamProvider", "describe"]

log = logging.getLogger("msplex.federation")

LIST_DEADLINE = 10.0
START_GRACE = 3.0
"""Seconds after registration during which a failing first listing is retried quickly and quietly:
gateway and upstream often start together, and the upstream may simply not be listening yet."""
START_RETRY = 0.25
RETRY_MIN = 1.0
RETRY_MAX = 30.0
_WIDER: dict[Publish, int] = {"silent": 0, "here": 1, "everywhere": 2}
_EVERY_LIST = frozenset({"tools", "prompts", "resources"})


def describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return (str(exc) or type(exc).__name__)[:300]


@dataclass
class _Upstream:
    entry: UpstreamEntry
    connector: UpstreamConnector
    listing: Listing | None = None
    health: Health = field(default_factory=Health)
    refresh: asyncio.Task[None] | None = None
    dirty: Publish | None = None
    """A refresh was asked for while one ran: run again, announcing this widely."""
    listened: UpstreamSession | None = None
    """The session our notification sink is registered on (a replaced session needs it again)."""
    backoff: float = 0.0
    retry: asyncio.TimerHandle | None = None
    contact: float = 0.0
    """When the upstream last answered (monotonic): a quiet upstream gets probed."""
    attempted: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the upstream was listed, or failed after its start-up grace: until then, a list or an
    unknown name waits for it (``settle``); after, they answer at once."""
    registered: float = field(default_factory=time.monotonic)
    announce: set[str] = field(default_factory=set)
    """List kinds the upstream said changed; clients hear of them even if the merge looks equal."""


class UpstreamProvider:
    """One tenant's upstream MCP servers (see module docstring)."""

    family = "upstream"

    def __init__(
        self,
        tenant_id: str,
        slug: str,
        catalogue: TenantCatalogue,
        events: EventBus,
        services: ConnectorServices,
    ) -> None:
        self.tenant_id = tenant_id
        self.slug = slug
        self._catalogue = catalogue
        self._events = events
        self._services = services
        self._upstreams: dict[str, _Upstream] = {}
        self._sources: tuple[Source, ...] = ()
        self.subscriptions: Subscriptions | None = None
        """The tenant's resource subscriptions, which this provider's connectors serve."""

    # registrations ---------------------------------------------------------

    def apply(self, entries: Sequence[UpstreamEntry]) -> None:
        """Make the registrations match the control plane's (in registration order)."""
        wanted = {e.spec.name: e for e in entries}
        for name in list(self._upstreams):
            if name not in wanted:
                _stop(self._upstreams.pop(name))
        for name, entry in wanted.items():
            state = self._upstreams.get(name)
            if state is None:
                state = _Upstream(entry, UpstreamConnector(name, self, self._services))
                self._upstreams[name] = state
                self.schedule_refresh(name, "here")
            elif state.entry != entry:
                spec_changed = state.entry.spec != entry.spec
                state.entry = entry
                if spec_changed:
                    state.registered, state.attempted = time.monotonic(), asyncio.Event()
                    self.schedule_refresh(name, "here", now=True)
        self._catalogue.rebuild(publish="here")

    def spec(self, name: str) -> UpstreamSpec | None:
        state = self._upstreams.get(name)
        return state.entry.spec if state is not None else None

    def specs(self) -> list[UpstreamSpec]:
        return [s.entry.spec for s in self._upstreams.values()]

    def close(self) -> None:
        for state in self._upstreams.values():
            _stop(state)

    # provider contract -------------------------------------------------------

    def sources(self) -> Sequence[Source]:
        ordered = sorted(self._upstreams.values(), key=lambda s: (s.entry.created_at, s.entry.id))
        self._sources = tuple(
            Source(self.family, s.entry.spec.name, s.entry.prefix, s.listing or Listing(), s.connector) for s in ordered
        )
        return self._sources

    async def settle(self, within: float) -> None:
        waiting = [s.attempted.wait() for s in self._upstreams.values() if not s.attempted.is_set()]
        if waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):
                    await asyncio.gather(*waiting)

    def health(self) -> Mapping[str, Health]:
        return {name: s.health for name, s in self._upstreams.items()}

    def probe(self, quiet_for: float) -> None:
        cutoff = time.monotonic() - quiet_for
        for name, state in self._upstreams.items():
            if state.contact < cutoff and state.retry is None:
                self.schedule_refresh(name, "here")

    async def refresh(self, instance: str, publish: Publish) -> None:
        state = self._upstreams.get(instance)
        if state is None:
            return
        self.schedule_refresh(instance, publish, now=True)
        if state.refresh is not None:
            await asyncio.shield(state.refresh)

    # feedback from the connector ----------------------------------------------

    def contacted(self, name: str) -> None:
        if (state := self._upstreams.get(name)) is not None:
            state.contact = time.monotonic()

    def failed(self, name: str, exc: BaseException) -> None:
        """A forwarded request failed: unhealthy now, re-listed when the backoff says so."""
        state = self._upstreams.get(name)
        if state is None:
            return
        self._mark_unhealthy(name, state, exc)
        if state.retry is None and (state.refresh is None or state.refresh.done()):
            self._retry_later(name, state)

    # refreshing ------------------------------------------------------------------

    def schedule_refresh(self, name: str, publish: Publish, *, now: bool = False) -> None:
        """Re-list ``name``. While a backoff timer is pending only ``now`` (a changed registration,
        another replica's or the upstream's own news) starts an attempt before it fires."""
        state = self._upstreams.get(name)
        if state is None:
            return
        if state.refresh is not None and not state.refresh.done():
            if state.dirty is None or _WIDER[publish] > _WIDER[state.dirty]:
                state.dirty = publish
            return
        if state.retry is not None:
            if not now:
                return
            state.retry.cancel()
            state.retry = None
        state.refresh = asyncio.get_running_loop().create_task(self._refresh(name, publish))

    async def _refresh(self, name: str, publish: Publish) -> None:
        while True:
            state = self._upstreams.get(name)
            if state is None:
                return
            state.dirty = None
            try:
                # The deadline covers the handshake too: an upstream that accepts the
                # connection and never answers must end up unhealthy, not "starting" forever.
                async with asyncio.timeout(LIST_DEADLINE):
                    session = await self._services.pool.get(state.entry.spec)
                    if state.listened is not session:
                        session.on_unsolicited(self._sink(name))
                        state.listened = session
                    listing = await read_listing(session)
            except asyncio.CancelledError:
                raise
            except (UpstreamError, TimeoutError, OSError, ValueError) as exc:
                starting = state.listing is None and time.monotonic() - state.registered < START_GRACE
                if starting:
                    secrets = self._services.credentials.secrets(state.entry.spec.key)
                    state.health.error = redact_text(describe(exc), secrets)
                    log.debug("upstream %s/%s not answering yet: %s", self.slug, name, state.health.error)
                else:
                    state.attempted.set()
                    self._mark_unhealthy(name, state, exc)
                if state.dirty is None:
                    self._retry_later(name, state, START_RETRY if starting else None)
                    return
                publish, state.dirty = state.dirty, None
                continue
            if self._upstreams.get(name) is not state:
                return
            if state.health.state == "unhealthy":
                log.info("upstream %s/%s is reachable again", self.slug, name)
                state.announce |= _EVERY_LIST  # ready again: its items are back in the lists
            state.health = Health("ok", None, time.time(), len(listing.tools))
            state.contact = time.monotonic()
            state.backoff = 0.0
            state.attempted.set()
            if listing != state.listing or state.announce:
                state.listing = listing
                announce, state.announce = state.announce, set()
                self._catalogue.rebuild(announce, publish, name)
            if state.dirty is None:
                return
            publish = state.dirty

    def _mark_unhealthy(self, name: str, state: _Upstream, exc: BaseException) -> None:
        """Unhealthy, with the error (redacted of the credentials sent to it: callers are shown it) and
        the fix; a change from ready tells the lists, which leave out what is not ready."""
        error = redact_text(describe(exc), self._services.credentials.secrets(state.entry.spec.key))
        was = state.health.state
        if was != "unhealthy" or state.health.error != error:
            log.warning("upstream %s/%s unhealthy: %s", self.slug, name, error)
        else:
            log.debug("upstream %s/%s still unhealthy: %s", self.slug, name, error)
        state.health.state, state.health.error = "unhealthy", error
        state.health.fix = (
            f"check that the upstream answers; `msplex tool list --tenant {self.slug}` lists it now and shows "
            "its error, and the gateway retries it by itself"
        )
        if was == "ok" and state.listing is not None:
            self._catalogue.rebuild(_EVERY_LIST, "here", name)

    def _retry_later(self, name: str, state: _Upstream, delay: float | None = None) -> None:
        if delay is None:
            state.backoff = delay = min(max(RETRY_MIN, state.backoff * 2), RETRY_MAX)
        state.retry = asyncio.get_running_loop().call_later(delay, self._retry, name)

    def _retry(self, name: str) -> None:
        if (state := self._upstreams.get(name)) is not None:
            state.retry = None
            self.schedule_refresh(name, "here")

    def _sink(self, name: str) -> Any:
        async def sink(message: JSON) -> None:
            method = message.get("method", "")
            state = self._upstreams.get(name)
            if state is None:
                return
            if method == "notifications/msplex/channel_opened":
                self.schedule_refresh(name, "here", now=True)  # changes made while nobody listened
            elif method.endswith("/list_changed"):
                kind = method.removeprefix("notifications/").removesuffix("/list_changed")
                if kind in ("tools", "prompts", "resources"):
                    state.announce.add(kind)
                self.schedule_refresh(name, "everywhere", now=True)
            elif method == "notifications/resources/updated":
                uri = (message.get("params") or {}).get("uri")
                if isinstance(uri, str):
                    public = public_uri(name, uri, prefixed=state.entry.prefix)
                    self._events.publish(Event(self.tenant_id, "updated", public, name))

        return sink


def _stop(state: _Upstream) -> None:
    if state.refresh is not None:
        state.refresh.cancel()
    if state.retry is not None:
        state.retry.cancel()
