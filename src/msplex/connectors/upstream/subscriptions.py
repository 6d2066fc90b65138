"""Resource subscriptions of one tenant's clients, shared upstream.

Many clients may watch one resource; the upstream is asked once (on the first
holder) and released once (after the last). Holders are legacy sessions
(``resources/subscribe``) and 2026-07-28 ``subscriptions/listen`` streams on
this replica; updates reach them as ``updated`` events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from msplex.call import Target
from msplex.upstream import UpstreamError

if TYPE_CHECKING:
    from msplex.connectors.upstream.connector import UpstreamConnector

__all__ = ["Subscriptions"]

log = logging.getLogger("msplex.federation")


class Subscriptions:
    def __init__(self, route: Callable[[str], Target | None]) -> None:
        self._route = route
        self._holders: dict[str, set[str]] = {}

    def is_subscribed(self, uri: str, subscriber: str) -> bool:
        return subscriber in self._holders.get(uri, ())

    async def hold(self, target: Target, subscriber: str) -> None:
        holders = self._holders.setdefault(target.public, set())
        first = not holders
        holders.add(subscriber)
        if first:
            await self._upstream(target, True)

    async def release(self, target: Target, subscriber: str) -> None:
        holders = self._holders.get(target.public)
        if holders is None or subscriber not in holders:
            return
        holders.discard(subscriber)
        if not holders:
            del self._holders[target.public]
            await self._upstream(target, False)

    async def watch(self, subscriber: str, uris: Iterable[str]) -> None:
        """Hold every routable URI in ``uris`` for ``subscriber`` (a listen stream)."""
        for uri in uris:
            if (target := self._route(uri)) is not None:
                await self.hold(target, subscriber)

    async def drop(self, subscriber: str) -> None:
        """Release everything ``subscriber`` holds (its session or stream ended)."""
        for uri in [u for u, holders in self._holders.items() if subscriber in holders]:
            if (target := self._route(uri)) is not None:
                await self.release(target, subscriber)
            else:
                holders = self._holders[uri]
                holders.discard(subscriber)
                if not holders:
                    del self._holders[uri]

    @staticmethod
    async def _upstream(target: Target, on: bool) -> None:
        connector: UpstreamConnector = target.connector  # type: ignore[assignment]
        try:
            await connector.subscribe(target.name, on)
        except UpstreamError as exc:
            log.warning("resource subscription at %s failed: %s", target.instance, str(exc)[:300])
