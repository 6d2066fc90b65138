"""State that gateway replicas share: counters, hand-over entries, locks, pub/sub.

Embedded MSPlex is one process and uses the in-process backend; a scale-out
deployment runs N identical replicas and shares this state through Redis
(``MSPLEX_REDIS_URL``). Callers see one interface and must not care which
backend is behind it, so both keep the same contract:

* Values are JSON. They are encoded on the way in and every reader gets its
  own decoded copy (tuples come back as lists); a value that cannot be
  encoded fails at ``put``/``publish``, never on another replica.
* Nothing here is durable. Entries and locks carry a TTL, a Redis restart
  loses everything; the database stays the source of truth.
* ``take`` is exactly-once: a ``put`` is returned by at most one ``take`` on
  any replica, and a ``put`` landing while a ``take`` waits always wakes it.
* ``incr`` is atomic; a ``ttl`` starts a fixed window when the key is created
  and is never extended. Counters and entries share one key space.
* ``admit`` checks and increments several counters as one atomic step (one
  round trip): if any hard ``Limit`` would pass its limit, nothing is counted.
  That is what keeps quotas exact under concurrency (no read-then-write race).
* A lock is a lease: it lapses after ``ttl`` if its holder dies (or is just
  slow), and releasing never frees a lease someone else took over since.
* Pub/sub is at-most-once and ordered per subscription. Messages published
  while a replica's pub/sub link is down are lost; ``on_resync`` callbacks
  run once it is back, so callers reload what they cache from the database.
* Handlers run in one task per subscription, never on the caller's or the
  reader's stack: a slow handler delays only its own subscription, and a
  handler may call back into the state.

Keys and channels are namespaced by a prefix, so several gateways (or test
runs) can share one Redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, TypeAlias

__all__ = ["JSON", "Admission", "Handler", "Limit", "LockTimeout", "SharedState", "Subscription", "open_state"]

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
"""What ``orjson`` encodes: the values of entries and the messages of channels."""

Handler: TypeAlias = Callable[[JSON], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limit:
    """One counter ``admit`` checks and counts: a new key expires ``ttl`` seconds after creation.
    A ``hard`` limit refuses what would take the counter past ``limit``; a soft one only counts."""

    key: str
    limit: int
    ttl: float
    hard: bool = True


@dataclass(frozen=True, slots=True)
class Admission:
    """What ``admit`` did: ``refused`` is the index of the first hard limit that refused (then nothing
    was counted), ``None`` when every counter was incremented; ``counts`` are the counters' values after
    (before, when refused), in the order given."""

    refused: int | None
    counts: tuple[int, ...]


class LockTimeout(TimeoutError):
    """``lock()`` could not acquire its key within ``wait`` seconds."""

    def __init__(self, key: str, wait: float) -> None:
        super().__init__(f"lock {key!r} not acquired within {wait:g}s")
        self.key = key


class Subscription(Protocol):
    async def close(self) -> None:
        """Stop delivery: the handler is not called again once this returns (a call in progress finishes)."""
        ...


class SharedState(Protocol):
    """One replica's view of the shared state; see the module docstring for the contract."""

    backend: str
    """``"memory"`` or ``"redis"``, for logs and status."""

    async def start(self) -> None:
        """Connect. Raises ``ConnectionError`` naming the (password-masked) URL if the backend is unreachable."""
        ...

    async def close(self) -> None:
        """Final and idempotent: waiting ``take`` calls return ``None``, waiting lock acquisitions fail."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` atomically and return the new value; a new key expires ``ttl`` seconds after creation."""
        ...

    async def admit(self, limits: Sequence[Limit], amount: int = 1) -> Admission:
        """Add ``amount`` to every counter of ``limits`` at once, unless a hard one would pass its limit."""
        ...

    async def put(self, key: str, value: JSON, *, ttl: float) -> None:
        """Store a short-lived entry, replacing any previous value, and wake the ``take`` calls waiting for it."""
        ...

    async def take(self, key: str, *, timeout: float = 0.0) -> JSON | None:  # noqa: ASYNC109 - bounds the wait only
        """Remove and return the entry, waiting up to ``timeout`` seconds for a ``put``; ``None`` if none came.

        Pass ``timeout`` rather than cancelling a waiting take from outside:
        a cancellation can land after the entry was removed and lose it.
        """
        ...

    async def peek(self, key: str) -> JSON | None:
        """The entry (or counter), left in place."""
        ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str, *, ttl: float, wait: float = 0.0) -> AbstractAsyncContextManager[None]:
        """Hold ``key`` exclusively across replicas for at most ``ttl`` seconds; ``LockTimeout`` after ``wait``."""
        ...

    async def publish(self, channel: str, message: JSON) -> None:
        """Deliver to every subscription of ``channel`` on every replica, this one included."""
        ...

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        """Await ``handler`` for each message, in order; returns once a following ``publish`` is sure to arrive.

        A handler that raises is logged on ``msplex.state`` and delivery goes on.
        """
        ...

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Await ``callback`` each time the pub/sub link came back after messages may have been lost."""
        ...


def open_state(redis_url: str | None, *, prefix: str = "msplex:") -> SharedState:
    """The Redis backend when ``redis_url`` is set, else the in-process one; call ``start()`` before use.

    Raises ``ValueError`` (password masked) for a URL that is not a Redis URL.
    """
    if not redis_url:
        from msplex.state.memory import MemoryState

        return MemoryState()
    from msplex.state.redis import RedisState

    return RedisState(redis_url, prefix=prefix)
