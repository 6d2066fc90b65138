"""``UpstreamPool``: one long-lived session per registered upstream, with health.

Keyed by ``UpstreamSpec.key`` (tenant, name); the stored spec is compared by
value, so a changed registration closes the old session and opens a new one,
and a removed registration is closed. Sessions start lazily on first ``get``.
Health is recorded from what callers experience (every ``start`` and
``request`` through the returned handle), not from synthetic probes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from msplex.upstream.base import JSON, NotificationSink, RequestSink, ServerFacts, UpstreamError, UpstreamSpec

__all__ = ["HealthState", "PooledSession", "UpstreamPool"]

HealthState = Literal["healthy", "unhealthy", "starting"]
Key = tuple[str, str]


@dataclass(slots=True)
class _Health:
    state: HealthState = "starting"
    error: str | None = None
    last_ok_at: float | None = None

    def ok(self) -> None:
        self.state, self.error, self.last_ok_at = "healthy", None, time.time()

    def failed(self, exc: BaseException) -> None:
        self.state, self.error = "unhealthy", str(exc) or type(exc).__name__


class PooledSession:
    """The pool's handle on a session: the same contract, plus health bookkeeping.

    Only ``UpstreamError``s count as failures; a caller's cancellation or
    deadline says nothing about the upstream. Other attributes
    (``subscribe_resource``, ``unsolicited_ready``, ...) pass through.
    """

    __slots__ = ("_health", "_inner", "name")

    def __init__(self, inner: Any, health: _Health) -> None:
        self._inner = inner
        self._health = health
        self.name: str = inner.name

    @property
    def facts(self) -> ServerFacts | None:
        facts: ServerFacts | None = self._inner.facts
        return facts

    async def start(self) -> ServerFacts:
        try:
            facts: ServerFacts = await self._inner.start()
        except UpstreamError as exc:
            self._health.failed(exc)
            raise
        self._health.ok()
        return facts

    async def request(
        self,
        method: str,
        params: JSON | None = None,
        *,
        on_notification: NotificationSink | None = None,
        on_request: RequestSink | None = None,
    ) -> JSON:
        try:
            reply: JSON = await self._inner.request(
                method, params, on_notification=on_notification, on_request=on_request
            )
        except UpstreamError as exc:
            self._health.failed(exc)
            raise
        self._health.ok()
        return reply

    async def notify(self, method: str, params: JSON | None = None) -> None:
        await self._inner.notify(method, params)

    def on_unsolicited(self, sink: NotificationSink) -> None:
        self._inner.on_unsolicited(sink)

    async def close(self) -> None:
        await self._inner.close()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)


class UpstreamPool:
    """Owns every upstream session; never opens one per call."""

    def __init__(self, factory: Callable[[UpstreamSpec], Any] | None = None) -> None:
        if factory is None:
            from msplex.upstream import open_session

            factory = open_session
        self._factory = factory
        self._entries: dict[Key, tuple[UpstreamSpec, PooledSession, _Health]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def get(self, spec: UpstreamSpec) -> PooledSession:
        """The session for ``spec``, started (lazily, once); replaces one registered with another spec."""
        entry = self._entries.get(spec.key)
        if entry is None or entry[0] != spec:
            if entry is not None:
                self._retire(entry[1])
            health = _Health()
            entry = (spec, PooledSession(self._factory(spec), health), health)
            self._entries[spec.key] = entry
        session = entry[1]
        if session.facts is None:
            await session.start()
        return session

    async def sync(self, specs: Iterable[UpstreamSpec]) -> None:
        """Make the pool match ``specs``: close removed or changed upstreams (new ones start lazily)."""
        wanted = {s.key: s for s in specs}
        retired = []
        for key, (spec, session, _) in list(self._entries.items()):
            if wanted.get(key) != spec:
                del self._entries[key]
                retired.append(session.close())
        await asyncio.gather(*retired, return_exceptions=True)

    def health(self) -> dict[Key, dict[str, Any]]:
        return {
            key: {"state": h.state, "error": h.error, "last_ok_at": h.last_ok_at}
            for key, (_, _, h) in self._entries.items()
        }

    async def close(self) -> None:
        entries, self._entries = list(self._entries.values()), {}
        await asyncio.gather(*(s.close() for _, s, _ in entries), return_exceptions=True)
        await asyncio.gather(*self._closing, return_exceptions=True)

    def _retire(self, session: PooledSession) -> None:
        task = asyncio.ensure_future(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
