"""The worker pool of each connector instance: a bulkhead, so a slow vendor cannot starve the others.

Each instance (a tenant's upstream, later each vendor connector) runs at most
``concurrency`` calls at once; up to ``queue`` more wait for a worker, in
arrival order, for at most ``queue_seconds``; anything beyond is refused at
once with ``Code.BUSY``. A call runs on its own request task while it holds a
worker, so cancelling the request (a client gone, a deadline) cancels the
upstream request as before (``connectors/upstream/connector.py`` owns the
deadline); a worker is never left held by a cancelled call.

The uncontended path is an integer decrement and increment, no await and no
lock (one event loop): cheaper than an ``asyncio.Semaphore`` round trip.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from msplex.errors import Code, Denied, Stage

__all__ = ["Bulkhead", "Limits", "Workers"]


@dataclass(frozen=True, slots=True)
class Limits:
    concurrency: int = 32
    queue: int = 64
    queue_seconds: float = 10.0


class Bulkhead:
    """One instance's workers: ``enter`` (or ``try_enter``) before its call runs, ``leave`` after."""

    __slots__ = ("_free", "_limits", "_waiting", "name")

    def __init__(self, name: str, limits: Limits) -> None:
        self.name = name
        self._limits = limits
        self._free = limits.concurrency
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def running(self) -> int:
        return self._limits.concurrency - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def try_enter(self) -> bool:
        """Take a free worker now, if there is one and nobody waits for one."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return True
        return False

    async def enter(self) -> None:
        """Take a worker, waiting in line if all are busy; ``Denied(BUSY)`` when the line is full or too slow."""
        if self.try_enter():
            return
        limits = self._limits
        if len(self._waiting) >= limits.queue:
            raise self._busy(f"{limits.concurrency} calls are running and {len(self._waiting)} are waiting")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(limits.queue_seconds):
                await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():
                self.leave()  # the worker was handed over as we gave up: pass it on
            else:
                turn.cancel()
                if turn in self._waiting:  # a leave() may have dropped it already (cancelled)
                    self._waiting.remove(turn)
            if isinstance(exc, TimeoutError):
                raise self._busy(f"no worker came free within {limits.queue_seconds:g} s") from None
            raise

    def leave(self) -> None:
        """Give the worker back: to the first call still waiting, else to the pool."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    def _busy(self, why: str) -> Denied:
        return Denied(Stage.DISPATCH, Code.BUSY, f"connector instance '{self.name}' is busy ({why}); try again shortly")


class Workers:
    """The bulkheads of a gateway, one per (tenant, connector instance), made on first use."""

    __slots__ = ("_bulkheads", "limits")

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._bulkheads: dict[tuple[str, str], Bulkhead] = {}

    def of(self, tenant_id: str, instance: str) -> Bulkhead:
        key = (tenant_id, instance)
        bulkhead = self._bulkheads.get(key)
        if bulkhead is None:
            bulkhead = self._bulkheads[key] = Bulkhead(instance, self.limits)
        return bulkhead
