"""What only the Redis backend has: one pub/sub link per replica, and its recovery when the link drops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from msplex.state import JSON
from msplex.state.redis import RedisState

if TYPE_CHECKING:
    from conftest import Scratch

pytestmark = pytest.mark.redis

Replica = Callable[[], Awaitable[RedisState]]


async def _pubsub_links(scratch: Scratch) -> list[str]:
    clients = await scratch.admin.client_list(_type="pubsub")
    return [client["id"] for client in clients if client["name"] == f"{scratch.prefix}pubsub"]


async def _kill_pubsub_links(scratch: Scratch) -> None:
    links = await _pubsub_links(scratch)
    assert links, "no pub/sub link to kill"
    for link in links:
        await scratch.admin.client_kill_filter(_id=link)


async def test_one_pubsub_link_carries_every_subscription(replica: Replica, redis_scratch: Scratch) -> None:
    state = await replica()
    got: asyncio.Queue[JSON] = asyncio.Queue()
    for n in range(5):
        await state.subscribe(f"channel-{n}", got.put)
    assert len(await _pubsub_links(redis_scratch)) == 1


async def test_after_the_link_drops_resync_runs_and_delivery_resumes(replica: Replica, redis_scratch: Scratch) -> None:
    state = await replica()
    resynced = asyncio.Event()

    async def on_resync() -> None:
        resynced.set()

    async def failing_resync() -> None:
        raise RuntimeError("reload failed")

    state.on_resync(failing_resync)
    state.on_resync(on_resync)
    got: asyncio.Queue[JSON] = asyncio.Queue()
    await state.subscribe("events", got.put)
    await _kill_pubsub_links(redis_scratch)
    other = await replica()
    await asyncio.wait_for(resynced.wait(), 3)
    assert len(await _pubsub_links(redis_scratch)) == 2
    await other.publish("events", "after")
    assert await asyncio.wait_for(got.get(), 1) == "after"
    waiting = asyncio.create_task(state.take("reply", timeout=3))
    await asyncio.sleep(0.05)
    await other.put("reply", "woken", ttl=5)
    assert await asyncio.wait_for(waiting, 1) == "woken"


async def test_a_take_whose_wake_up_was_lost_is_rechecked_after_resync(
    replica: Replica, redis_scratch: Scratch
) -> None:
    state = await replica()
    waiting = asyncio.create_task(state.take("reply", timeout=5))
    await asyncio.sleep(0.05)
    await redis_scratch.admin.set(f"{redis_scratch.prefix}v:reply", b'"unannounced"', px=5000)
    done, _ = await asyncio.wait({waiting}, timeout=0.1)
    assert not done, "a put that was never announced cannot wake the take by itself"
    started = time.monotonic()
    await _kill_pubsub_links(redis_scratch)
    assert await asyncio.wait_for(waiting, 2) == "unannounced"
    assert time.monotonic() - started < 1


async def test_a_subscribe_during_an_outage_returns_once_the_link_is_back(
    replica: Replica, redis_scratch: Scratch
) -> None:
    state, other = await replica(), await replica()
    got: asyncio.Queue[JSON] = asyncio.Queue()
    await _kill_pubsub_links(redis_scratch)
    await state.subscribe("late", got.put)
    await other.publish("late", "delivered")
    assert await asyncio.wait_for(got.get(), 1) == "delivered"


@pytest.mark.parametrize("gap", [1, 2], ids=["before-waiting", "during-recheck"])
async def test_a_put_landing_while_a_take_gets_ready_to_wait_is_not_lost(
    replica: Replica, monkeypatch: pytest.MonkeyPatch, gap: int
) -> None:
    state, other = await replica(), await replica()
    getdel = state._client.getdel
    misses = 0

    async def miss_then_put(name: str) -> bytes | None:
        nonlocal misses
        found = await getdel(name)
        misses += 1
        if misses == gap:
            await other.put("reply", "in the gap", ttl=5)
            await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(state._client, "getdel", miss_then_put)
    started = time.monotonic()
    assert await state.take("reply", timeout=3) == "in the gap"
    assert time.monotonic() - started < 0.5
