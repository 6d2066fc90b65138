"""The in-process backend: one replica, so "shared" means shared between tasks.

Values are stored encoded (``orjson``), exactly as Redis stores them, so a
reader never aliases the writer's objects and both backends fail alike on a
value that is not JSON. Expiry is checked on access against the monotonic
clock; a heap of deadlines drops entries nobody reads again, so nothing grows
without bound. All mutations are synchronous between awaits, which is what
makes ``incr``, ``take`` and lock acquisition atomic here.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import orjson

from msplex.state import JSON, Admission, Handler, Limit, LockTimeout

__all__ = ["LocalSubscription", "MemoryState"]

logger = logging.getLogger("msplex.state")

_Value = bytes | int
"""An encoded entry, or a counter."""


def _decode(value: _Value | None) -> JSON | None:
    if value is None or isinstance(value, int):
        return value
    decoded: JSON = orjson.loads(value)
    return decoded


def _positive(ttl: float) -> float:
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")
    return ttl


class LocalSubscription:
    """Feeds encoded messages to one handler, in order, from its own task.

    ``deliver`` never blocks, so a publisher (or the Redis reader) is never
    held up by a slow handler; the backlog is unbounded. Also used by the
    Redis backend once a message has arrived.
    """

    def __init__(self, channel: str, handler: Handler, detach: Callable[[LocalSubscription], Awaitable[None]]) -> None:
        self.channel = channel
        self._handler = handler
        self._detach = detach
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._stopped = False
        self._busy = False
        self._task = asyncio.create_task(self._run(), name=f"msplex.state subscription {channel!r}")

    def deliver(self, data: bytes) -> None:
        if not self._stopped:
            self._inbox.put_nowait(data)

    async def close(self) -> None:
        if self._stopped:
            return
        self.stop()
        await self._detach(self)

    def stop(self) -> None:
        """No further handler calls; a call in progress is left to finish."""
        self._stopped = True
        if not self._busy:
            self._task.cancel()

    async def kill(self) -> None:
        """Stop, cancelling a handler call in progress, and wait for the task (for the backend's ``close``)."""
        self._stopped = True
        if self._task is asyncio.current_task():
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopped:
            data = await self._inbox.get()
            if self._stopped:
                return
            self._busy = True
            try:
                await self._handler(orjson.loads(data))
            except Exception:
                logger.exception("handler of channel %r failed", self.channel)
            finally:
                self._busy = False


@dataclass(eq=False, slots=True)
class _Lease:
    expires: float
    released: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryState:
    """``SharedState`` for a single process; ``on_resync`` callbacks are never called (nothing can be missed)."""

    backend: str = "memory"

    def __init__(self) -> None:
        self._values: dict[str, tuple[_Value, float | None]] = {}
        self._deadlines: list[tuple[float, str]] = []
        self._takers: dict[str, set[asyncio.Event]] = {}
        self._leases: dict[str, _Lease] = {}
        self._channels: dict[str, list[LocalSubscription]] = {}
        self._closed = False

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for waiters in self._takers.values():
            for woken in waiters:
                woken.set()
        for lease in self._leases.values():
            lease.released.set()
        subscriptions = [sub for subs in self._channels.values() for sub in subs]
        self._channels.clear()
        for sub in subscriptions:
            await sub.kill()

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        now = time.monotonic()
        current = self._live(key, now)
        if current is None:
            value = amount
            expires = None if ttl is None else self._expire_at(key, now + _positive(ttl))
        else:
            old, expires = current
            if not isinstance(old, int):
                raise TypeError(f"{key!r} holds an entry, not a counter")
            value = old + amount
        self._values[key] = (value, expires)
        return value

    async def admit(self, limits: Sequence[Limit], amount: int = 1) -> Admission:
        now = time.monotonic()
        counts = []
        for limit in limits:
            current = self._live(limit.key, now)
            value = 0 if current is None else current[0]
            if not isinstance(value, int):
                raise TypeError(f"{limit.key!r} holds an entry, not a counter")
            counts.append(value)
        for index, limit in enumerate(limits):
            if limit.hard and counts[index] + amount > limit.limit:
                return Admission(index, tuple(counts))
        return Admission(None, tuple([await self.incr(lim.key, amount, ttl=lim.ttl) for lim in limits]))

    async def put(self, key: str, value: JSON, *, ttl: float) -> None:
        data = orjson.dumps(value)
        self._values[key] = (data, self._expire_at(key, time.monotonic() + _positive(ttl)))
        for woken in self._takers.get(key, ()):
            woken.set()

    async def take(self, key: str, *, timeout: float = 0.0) -> JSON | None:  # noqa: ASYNC109 - see SharedState.take
        value = self._pop(key)
        if value is not None or timeout <= 0 or self._closed:
            return _decode(value)
        woken = asyncio.Event()
        waiters = self._takers.setdefault(key, set())
        waiters.add(woken)
        try:
            async with asyncio.timeout(timeout):
                while value is None:
                    woken.clear()
                    await woken.wait()
                    if self._closed:
                        break
                    value = self._pop(key)
        except TimeoutError:
            value = None if self._closed else self._pop(key)
        finally:
            waiters.discard(woken)
            if not waiters and self._takers.get(key) is waiters:
                del self._takers[key]
        return _decode(value)

    async def peek(self, key: str) -> JSON | None:
        current = self._live(key, time.monotonic())
        return None if current is None else _decode(current[0])

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    def lock(self, key: str, *, ttl: float, wait: float = 0.0) -> AbstractAsyncContextManager[None]:
        return self._hold(key, _positive(ttl), wait)

    async def publish(self, channel: str, message: JSON) -> None:
        data = orjson.dumps(message)
        for sub in self._channels.get(channel, ()):
            sub.deliver(data)

    async def subscribe(self, channel: str, handler: Handler) -> LocalSubscription:
        sub = LocalSubscription(channel, handler, self._detach)
        if self._closed:
            sub.stop()
        else:
            self._channels.setdefault(channel, []).append(sub)
        return sub

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        pass

    def _live(self, key: str, now: float) -> tuple[_Value, float | None] | None:
        current = self._values.get(key)
        if current is not None and current[1] is not None and current[1] <= now:
            del self._values[key]
            return None
        return current

    def _pop(self, key: str) -> _Value | None:
        current = self._live(key, time.monotonic())
        if current is None:
            return None
        del self._values[key]
        return current[0]

    def _expire_at(self, key: str, deadline: float) -> float:
        """Record ``deadline`` for the sweep (which also drops whatever is already due) and return it."""
        now = time.monotonic()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, due = heapq.heappop(self._deadlines)
            self._live(due, now)
        heapq.heappush(self._deadlines, (deadline, key))
        return deadline

    @contextlib.asynccontextmanager
    async def _hold(self, key: str, ttl: float, wait: float) -> AsyncIterator[None]:
        deadline = time.monotonic() + wait
        while True:
            now = time.monotonic()
            held = self._leases.get(key)
            if held is None or held.expires <= now:
                break
            if self._closed or now >= deadline:
                raise LockTimeout(key, wait)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(deadline, held.expires) - now):
                    await held.released.wait()
        mine = self._leases[key] = _Lease(now + ttl)
        try:
            yield
        finally:
            if self._leases.get(key) is mine:
                del self._leases[key]
            mine.released.set()

    async def _detach(self, sub: LocalSubscription) -> None:
        subs = self._channels.get(sub.channel)
        if subs is not None and sub in subs:
            subs.remove(sub)
            if not subs:
                del self._channels[sub.channel]
