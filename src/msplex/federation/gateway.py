"""The gateway's live state: every tenant's runtime, the tokens, and the event fan-out.

``Gateway`` applies control-plane snapshots (tenants, upstreams, tokens) and
owns one ``TenantRuntime`` per tenant; the chain and the edge reach tenants
only through it. Events (list changes, resource updates) fan out to the
client streams of this process: every replica holds its own upstream
sessions, so each hears its upstreams' notifications itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from msplex.federation.events import Event, Listener
from msplex.federation.forward import Parked
from msplex.federation.runtime import PROBE_SECONDS, TenantRuntime, UpstreamEntry

if TYPE_CHECKING:
    from msplex.crypto import Keyring
    from msplex.upstream.pool import UpstreamPool

__all__ = ["Event", "Gateway", "Metrics"]

log = logging.getLogger("msplex.federation")

JSON = dict[str, Any]


class Metrics:
    """Counters this replica reports with each heartbeat."""

    def __init__(self) -> None:
        self.calls_routed = 0


class Gateway:
    """Everything the chain and the edge need at run time, swapped in by snapshots."""

    def __init__(
        self, pool: UpstreamPool, keyring: Keyring, server_info: JSON, *, call_deadline: float = 300.0
    ) -> None:
        self.pool = pool
        self.keyring = keyring
        self.server_info = server_info
        self.metrics = Metrics()
        self.call_deadline = call_deadline
        """Seconds an upstream may take to answer one forwarded request before the caller is told."""
        self.parked = Parked(keyring)
        self.tokens: dict[str, tuple[str, str]] = {}
        self._by_slug: dict[str, TenantRuntime] = {}
        self._by_id: dict[str, TenantRuntime] = {}
        self._listeners: dict[int, Listener] = {}
        self._next_listener = 0

    def server_info_for(self, tenant: TenantRuntime) -> JSON:
        return {**self.server_info, "title": f"MSPlex · {tenant.name}"}

    def tenant_by_slug(self, slug: str) -> TenantRuntime | None:
        return self._by_slug.get(slug)

    def tenant_by_id(self, tenant_id: str) -> TenantRuntime | None:
        return self._by_id.get(tenant_id)

    def tenants(self) -> list[TenantRuntime]:
        return list(self._by_id.values())

    def apply(
        self,
        tenants: Iterable[tuple[str, str, str, bool]],
        upstreams: dict[str, list[UpstreamEntry]],
        tokens: dict[str, tuple[str, str]],
    ) -> None:
        """Make the live state match the control plane (tenants: id, slug, name, allow_anonymous)."""
        seen: set[str] = set()
        for tenant_id, slug, name, allow_anonymous in tenants:
            seen.add(tenant_id)
            runtime = self._by_id.get(tenant_id)
            if runtime is None:
                runtime = TenantRuntime(self, tenant_id, slug, name, allow_anonymous)
                self._by_id[tenant_id] = runtime
            runtime.slug, runtime.name, runtime.allow_anonymous = slug, name, allow_anonymous
            runtime.apply(upstreams.get(tenant_id, []))
        for tenant_id in list(self._by_id):
            if tenant_id not in seen:
                self._by_id.pop(tenant_id).close()
        self._by_slug = {r.slug: r for r in self._by_id.values()}
        self.tokens = dict(tokens)
        self.pool_sync()

    def pool_sync(self) -> None:
        specs = [s.entry.spec for r in self._by_id.values() for s in r._upstreams.values()]
        asyncio.get_running_loop().create_task(self.pool.sync(specs))

    def listen(self, listener: Listener) -> Callable[[], None]:
        key = self._next_listener
        self._next_listener += 1
        self._listeners[key] = listener

        def remove() -> None:
            self._listeners.pop(key, None)

        return remove

    def publish(self, event: Event) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    async def probe(self) -> None:
        for runtime in self._by_id.values():
            runtime.probe(PROBE_SECONDS)

    async def close(self) -> None:
        for runtime in self._by_id.values():
            runtime.close()
        await self.pool.close()
