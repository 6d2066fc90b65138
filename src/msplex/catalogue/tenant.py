"""One tenant's catalogue: its providers merged, swapped whole on change, changes announced, and who
may see which item (``access``).

Providers call ``rebuild`` when a listing changes; the new merge replaces the
old one in one assignment and every kind whose items differ (or that a source
announced as changed) is published as an ``Event``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from msplex.access import Access
from msplex.catalogue.merged import Catalogue
from msplex.catalogue.provider import Health, Provider, Publish
from msplex.events import Event, EventBus

__all__ = ["FIRST_LIST_WAIT", "TenantCatalogue"]

FIRST_LIST_WAIT = 5.0
"""How long a list or an unknown name waits for instances never listed yet (start-up)."""
_KINDS = {"tools": ("tools",), "prompts": ("prompts",), "resources": ("resources", "resourceTemplates")}


class TenantCatalogue:
    def __init__(self, tenant_id: str, events: EventBus) -> None:
        self.tenant_id = tenant_id
        self._events = events
        self._providers: list[Provider] = []
        self._version = 0
        self.current = Catalogue.build(0, [])
        self.access = Access()
        """Who may see which of the items: the tenant's item rules, swapped whole when they change."""

    def add(self, provider: Provider) -> None:
        self._providers.append(provider)

    def rebuild(self, announce: Iterable[str] = (), publish: Publish = "here", instance: str | None = None) -> None:
        old = self.current
        self._version += 1
        new = Catalogue.build(self._version, [s for p in self._providers for s in p.sources()])
        self.current = new
        if publish == "silent":
            return
        announced = set(announce)
        for kind, keys in _KINDS.items():
            if kind in announced or any(old.entries.get(k) != new.entries.get(k) for k in keys):
                event = Event(self.tenant_id, kind, instance=instance)
                self._events.publish(event, everywhere=publish == "everywhere")

    async def settle(self, within: float = FIRST_LIST_WAIT) -> None:
        """Wait for instances that were never listed and never failed: a list right after start-up
        should not miss an upstream that is merely slower than the client."""
        if self._providers:
            await asyncio.gather(*(p.settle(within) for p in self._providers))

    async def refresh(self, instance: str, publish: Publish = "silent") -> None:
        for provider in self._providers:
            await provider.refresh(instance, publish)

    def probe(self, quiet_for: float) -> None:
        for provider in self._providers:
            provider.probe(quiet_for)

    def health(self) -> dict[str, Health]:
        merged: dict[str, Health] = {}
        for provider in self._providers:
            merged.update(provider.health())
        return merged

    def health_of(self, family: str, instance: str) -> Health | None:
        """One instance's health, from the provider of its family; ``None``: no such instance."""
        for provider in self._providers:
            if provider.family == family:
                return provider.health().get(instance)
        return None

    def ready_instances(self) -> frozenset[tuple[str, str]] | None:
        """``(family, instance)`` of every ready instance; ``None`` when every instance is ready."""
        ready: set[tuple[str, str]] = set()
        unready = False
        for provider in self._providers:
            for name, health in provider.health().items():
                if health.state == "ok":
                    ready.add((provider.family, name))
                else:
                    unready = True
        return frozenset(ready) if unready else None

    def close(self) -> None:
        for provider in self._providers:
            provider.close()
