"""``UpstreamPool``: one long-lived session per registered upstream, never one per call.

Keyed by ``UpstreamSpec.key`` (tenant, name); the stored spec is compared by
value, so a changed registration closes the old session and opens a new one,
and a removed registration is closed. Sessions start lazily on first ``get``.
Credentials are not part of a spec: each session asks ``credentials(key)`` for
its headers per request, so a refreshed credential never replaces a session.
Health is not kept here: the provider that lists an upstream owns its health.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from msplex.upstream.base import HeaderSource, UpstreamSession, UpstreamSpec

__all__ = ["Key", "SessionFactory", "UpstreamPool"]

Key = tuple[str, str]
SessionFactory = Callable[[UpstreamSpec, HeaderSource | None], UpstreamSession]


class UpstreamPool:
    def __init__(
        self,
        factory: SessionFactory | None = None,
        credentials: Callable[[Key], HeaderSource | None] | None = None,
    ) -> None:
        if factory is None:
            from msplex.upstream import open_session

            factory = open_session
        self._factory = factory
        self._credentials = credentials or (lambda _key: None)
        self._entries: dict[Key, tuple[UpstreamSpec, UpstreamSession]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def get(self, spec: UpstreamSpec) -> UpstreamSession:
        """The session for ``spec``, started (lazily, once); replaces one registered with another spec."""
        entry = self._entries.get(spec.key)
        if entry is None or entry[0] != spec:
            if entry is not None:
                self._retire(entry[1])
            entry = (spec, self._factory(spec, self._credentials(spec.key)))
            self._entries[spec.key] = entry
        session = entry[1]
        if session.facts is None:
            await session.start()
        return session

    def keys(self) -> set[Key]:
        return set(self._entries)

    async def sync(self, specs: Iterable[UpstreamSpec]) -> None:
        """Make the pool match ``specs``: close removed or changed upstreams (new ones start lazily)."""
        wanted = {s.key: s for s in specs}
        retired = []
        for key, (spec, session) in list(self._entries.items()):
            if wanted.get(key) != spec:
                del self._entries[key]
                retired.append(session.close())
        await asyncio.gather(*retired, return_exceptions=True)

    async def close(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        await asyncio.gather(*(s.close() for _, s in entries), return_exceptions=True)
        await asyncio.gather(*self._closing, return_exceptions=True)

    def _retire(self, session: UpstreamSession) -> None:
        task = asyncio.ensure_future(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
