"""What client streams hear about, fanned out to every replica through the shared state.

An ``Event`` says that a tenant's list of one kind changed, or that a resource
was updated. ``EventBus.publish`` delivers it to this replica's listeners at
once and, when the change was observed only here (an upstream told this
replica's session), to every other replica through ``SharedState`` pub/sub.
A replica receiving an event from another first brings its own copy of the
named upstream's listing up to date (``on_remote``), so a client that re-lists
after the notification sees the new list whichever replica it reaches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from msplex.state import JSON, SharedState, Subscription

__all__ = ["CHANNEL", "Event", "EventBus", "Listener"]

log = logging.getLogger("msplex.events")

CHANNEL = "events"
REMOTE_DEADLINE = 15.0
"""How long a remote event waits for this replica's refresh before it is delivered anyway."""


@dataclass(frozen=True, slots=True)
class Event:
    """``kind`` is ``tools``, ``prompts`` or ``resources`` (its list changed) or ``updated``
    (the resource ``uri``, a public URI, changed). ``instance`` names the connector
    instance whose listing changed, when one did."""

    tenant_id: str
    kind: str
    uri: str | None = None
    instance: str | None = None


Listener = Callable[[Event], None]


class EventBus:
    def __init__(self, state: SharedState, replica_id: str) -> None:
        self._state = state
        self._replica = replica_id
        self._listeners: dict[int, Listener] = {}
        self._next = 0
        self._subscription: Subscription | None = None
        self._on_remote: Callable[[Event], Awaitable[None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, on_remote: Callable[[Event], Awaitable[None]]) -> None:
        self._on_remote = on_remote
        self._subscription = await self._state.subscribe(CHANNEL, self._received)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def listen(self, listener: Listener) -> Callable[[], None]:
        key = self._next
        self._next += 1
        self._listeners[key] = listener

        def remove() -> None:
            self._listeners.pop(key, None)

        return remove

    def publish(self, event: Event, *, everywhere: bool = False) -> None:
        self._deliver(event)
        if everywhere:
            message: JSON = {
                "origin": self._replica,
                "tenant": event.tenant_id,
                "kind": event.kind,
                "uri": event.uri,
                "instance": event.instance,
            }
            self._spawn(self._state.publish(CHANNEL, message))

    def _deliver(self, event: Event) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")

    async def _received(self, message: Any) -> None:
        if not isinstance(message, dict) or message.get("origin") == self._replica:
            return
        try:
            event = Event(str(message["tenant"]), str(message["kind"]), message.get("uri"), message.get("instance"))
        except KeyError:
            log.warning("ignored a malformed event from another replica")
            return
        self._spawn(self._remote(event))

    async def _remote(self, event: Event) -> None:
        if self._on_remote is not None:
            try:
                async with asyncio.timeout(REMOTE_DEADLINE):
                    await self._on_remote(event)
            except TimeoutError:
                log.warning("refresh for a change seen by another replica timed out; delivering it anyway")
            except Exception:
                log.exception("refresh for a change seen by another replica failed")
        self._deliver(event)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("could not fan an event out to other replicas: %s", type(exc).__name__)
