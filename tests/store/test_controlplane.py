"""The control-plane watcher sees store changes made elsewhere and survives failures."""

from __future__ import annotations

import asyncio

from msplex.controlplane import ControlPlane
from msplex.store import ControlSnapshot, Store


async def test_a_change_made_by_another_store_is_applied_within_two_seconds(store: Store, second_store: Store) -> None:
    acme = await store.create_tenant("acme")
    plane = ControlPlane(store)  # the default 1 s interval is the product's promise
    seen: list[ControlSnapshot] = []
    changed = asyncio.Event()

    async def on_change(snapshot: ControlSnapshot) -> None:
        seen.append(snapshot)
        changed.set()

    plane.on_change(on_change)
    await plane.start()
    try:
        assert plane.snapshot.upstreams_of(acme.id) == ()
        await second_store.tenant("acme").add_upstream("files", url="http://127.0.0.1:1/mcp")
        await asyncio.wait_for(changed.wait(), 2.0)
        assert [e.spec.name for e in plane.snapshot.upstreams_of(acme.id)] == ["files"]
        assert seen[-1] is plane.snapshot
        assert not await plane.refresh()  # nothing new: no reload, no callback
        assert len(seen) == 1
    finally:
        await plane.stop()


class _Flaky:
    """The real store, except that polls fail while ``broken`` is set."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.broken = False

    async def control_version(self) -> int:
        if self.broken:
            raise ConnectionError("database went away")
        return await self.store.control_version()

    async def load_snapshot(self) -> ControlSnapshot:
        return await self.store.load_snapshot()


async def test_failed_polls_and_callbacks_keep_the_last_snapshot(store: Store) -> None:
    source = _Flaky(store)
    plane = ControlPlane(source, interval=0.05)
    applied = asyncio.Event()

    async def broken_callback(snapshot: ControlSnapshot) -> None:
        raise RuntimeError("consumer bug")

    async def good_callback(snapshot: ControlSnapshot) -> None:
        if "acme" in snapshot.tenants:
            applied.set()

    plane.on_change(broken_callback)
    plane.on_change(good_callback)
    await plane.start()
    try:
        before = plane.snapshot
        source.broken = True
        await store.create_tenant("acme")
        await asyncio.sleep(0.3)  # several failing polls
        assert plane.snapshot is before
        source.broken = False
        await asyncio.wait_for(applied.wait(), 5.0)
        assert "acme" in plane.snapshot.tenants
    finally:
        await plane.stop()
