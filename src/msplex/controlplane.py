"""The control-plane watcher: how a CLI change reaches a running gateway.

Every store mutation bumps one version counter. ``ControlPlane`` polls that
counter (one indexed single-row read per ``interval``) and, when it differs,
loads a fresh ``ControlSnapshot`` and swaps it in whole, then awaits the
registered callbacks in registration order. Readers take ``snapshot`` once
per request and never see a half-applied change. With the default 1 s
interval a change is live within about 1 s plus the reload time.

A failed poll or reload (database briefly away) keeps the last good
snapshot and is retried at the next tick; a failing callback is logged and
does not stop the others or the watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from msplex.store.records import ControlSnapshot

__all__ = ["ChangeCallback", "ControlPlane", "SnapshotSource"]

log = logging.getLogger(__name__)

ChangeCallback = Callable[[ControlSnapshot], Awaitable[None]]


class SnapshotSource(Protocol):
    """The part of ``msplex.store.Store`` the watcher uses."""

    async def control_version(self) -> int: ...

    async def load_snapshot(self) -> ControlSnapshot: ...


class ControlPlane:
    def __init__(self, store: SnapshotSource, interval: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._store = store
        self._interval = interval
        self._snapshot: ControlSnapshot | None = None
        self._callbacks: list[ChangeCallback] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> ControlSnapshot:
        if self._snapshot is None:
            raise RuntimeError("ControlPlane.start() has not completed")
        return self._snapshot

    def on_change(self, callback: ChangeCallback) -> None:
        """Await ``callback(snapshot)`` after each reload (not for the initial load in ``start``).

        Callbacks run one at a time, in order of snapshots; they must not call ``refresh``.
        """
        self._callbacks.append(callback)

    async def start(self) -> None:
        """Load the first snapshot (errors propagate: no snapshot, no gateway) and start polling."""
        if self._task is not None:
            return
        self._snapshot = await self._store.load_snapshot()
        self._task = asyncio.create_task(self._poll(), name="msplex-controlplane")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def refresh(self) -> bool:
        """Check the version now and reload if it changed; ``True`` when a new snapshot was applied."""
        async with self._lock:
            version = await self._store.control_version()
            if self._snapshot is not None and version == self._snapshot.version:
                return False
            snapshot = await self._store.load_snapshot()
            self._snapshot = snapshot
            for callback in list(self._callbacks):  # under the lock: callbacks see snapshots in order
                try:
                    await callback(snapshot)
                except Exception:
                    log.exception("control-plane change callback %r failed", callback)
        return True

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("control-plane poll failed, keeping the last snapshot: %s", type(exc).__name__)
