"""The ``SharedState`` contract, on both backends, with ``second`` acting as another replica."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from msplex.state import JSON, LockTimeout, SharedState, Subscription


def _since(started: float) -> float:
    return time.monotonic() - started


async def test_concurrent_increments_are_never_lost(state: SharedState, second: SharedState) -> None:
    results = await asyncio.gather(*(replica.incr("hits") for replica in (state, second) * 100))
    assert sorted(results) == list(range(1, 201))
    assert await second.incr("hits", 5) == 205
    assert await state.peek("hits") == 205


async def test_a_counter_ttl_is_a_fixed_window_from_creation(state: SharedState, second: SharedState) -> None:
    assert await state.incr("window", ttl=0.3) == 1
    await asyncio.sleep(0.1)
    assert await second.incr("window", ttl=10) == 2
    await asyncio.sleep(0.25)
    assert await state.peek("window") is None
    assert await second.incr("window", 3, ttl=10) == 3


async def test_put_then_take_hands_over_a_copy_once(state: SharedState, second: SharedState) -> None:
    answer: dict[str, JSON] = {"id": 7, "result": {"ok": True, "items": [1, 2.5, "x", None]}}
    await state.put("answer", answer, ttl=5)
    answer["id"] = 8
    assert await second.take("answer") == {"id": 7, "result": {"ok": True, "items": [1, 2.5, "x", None]}}
    assert await state.take("answer") is None
    assert await second.take("answer") is None


async def test_put_replaces_the_previous_value(state: SharedState, second: SharedState) -> None:
    await state.put("parked", "first", ttl=5)
    await second.put("parked", ["second"], ttl=5)
    assert await state.take("parked") == ["second"]


async def test_a_value_that_is_not_json_is_refused_where_it_is_written(state: SharedState) -> None:
    with pytest.raises(TypeError):
        await state.put("odd", {"when": object()}, ttl=5)
    with pytest.raises(TypeError):
        await state.publish("odd", {1, 2})
    with pytest.raises(ValueError, match="ttl"):
        await state.put("odd", 1, ttl=0)


async def test_a_waiting_take_is_woken_by_a_put_on_another_replica(state: SharedState, second: SharedState) -> None:
    waiting = asyncio.create_task(state.take("reply", timeout=5))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await second.put("reply", {"n": 1}, ttl=5)
    assert await asyncio.wait_for(waiting, 1) == {"n": 1}
    assert _since(started) < 0.5
    assert await second.peek("reply") is None


async def test_a_put_made_before_the_take_is_returned_at_once(state: SharedState, second: SharedState) -> None:
    await second.put("early", 42, ttl=5)
    started = time.monotonic()
    assert await state.take("early", timeout=5) == 42
    assert _since(started) < 0.5


async def test_take_gives_up_after_its_timeout(state: SharedState) -> None:
    assert await state.take("nothing") is None
    started = time.monotonic()
    assert await state.take("nothing", timeout=0.2) is None
    assert 0.2 <= _since(started) < 0.6


async def test_exactly_one_of_two_waiting_takers_gets_a_put(state: SharedState, second: SharedState) -> None:
    takers = {asyncio.create_task(replica.take("once", timeout=3)) for replica in (state, second)}
    await asyncio.sleep(0.05)
    await second.put("once", "first", ttl=5)
    done, pending = await asyncio.wait(takers, timeout=1, return_when=asyncio.FIRST_COMPLETED)
    assert [task.result() for task in done] == ["first"]
    done, pending = await asyncio.wait(pending, timeout=0.1)
    assert not done, "the other taker must keep waiting"
    await state.put("once", "second", ttl=5)
    assert await asyncio.wait_for(pending.pop(), 1) == "second"


async def test_entries_expire_after_their_ttl(state: SharedState, second: SharedState) -> None:
    await state.put("short", "v", ttl=0.1)
    assert await second.peek("short") == "v"
    await asyncio.sleep(0.15)
    assert await second.peek("short") is None
    assert await state.take("short") is None


async def test_peek_leaves_the_entry_and_delete_removes_it(state: SharedState, second: SharedState) -> None:
    await state.put("kept", [1, 2], ttl=5)
    assert await second.peek("kept") == [1, 2]
    assert await state.peek("kept") == [1, 2]
    await second.delete("kept")
    assert await state.peek("kept") is None
    await state.delete("never-there")


async def test_close_wakes_a_waiting_take_with_none(state: SharedState) -> None:
    waiting = asyncio.create_task(state.take("reply", timeout=10))
    await asyncio.sleep(0.05)
    await state.close()
    assert await asyncio.wait_for(waiting, 1) is None


async def test_lock_holders_never_overlap(state: SharedState, second: SharedState) -> None:
    inside = peak = entered = 0

    async def critical(replica: SharedState) -> None:
        nonlocal inside, peak, entered
        async with replica.lock("refresh", ttl=5, wait=5):
            inside += 1
            entered += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(critical(replica) for replica in (state, second) * 4))
    assert (peak, entered) == (1, 8)


async def test_a_held_lock_times_out_other_acquirers(state: SharedState, second: SharedState) -> None:
    async with state.lock("busy", ttl=5):
        with pytest.raises(LockTimeout):
            async with second.lock("busy", ttl=5):
                pass
        started = time.monotonic()
        with pytest.raises(LockTimeout) as caught:
            async with second.lock("busy", ttl=5, wait=0.15):
                pass
        assert 0.15 <= _since(started) < 1
        assert caught.value.key == "busy"
    async with second.lock("busy", ttl=5):
        pass


async def test_a_waiting_acquirer_gets_the_lock_soon_after_release(state: SharedState, second: SharedState) -> None:
    async def hold_briefly() -> None:
        async with state.lock("handover", ttl=5):
            await asyncio.sleep(0.1)

    holder = asyncio.create_task(hold_briefly())
    await asyncio.sleep(0.01)
    started = time.monotonic()
    async with second.lock("handover", ttl=5, wait=5):
        assert 0.05 <= _since(started) < 0.5
    await holder


async def test_a_dead_holders_lock_lapses_after_its_ttl(state: SharedState, second: SharedState) -> None:
    dead = state.lock("lease", ttl=0.2)
    await dead.__aenter__()
    started = time.monotonic()
    async with second.lock("lease", ttl=5, wait=2):
        assert 0.15 <= _since(started) < 1
    await dead.__aexit__(None, None, None)


async def test_a_late_release_does_not_free_a_lease_taken_over(state: SharedState, second: SharedState) -> None:
    late = state.lock("lease", ttl=0.1)
    await late.__aenter__()
    await asyncio.sleep(0.15)
    async with second.lock("lease", ttl=5):
        await late.__aexit__(None, None, None)
        with pytest.raises(LockTimeout):
            async with state.lock("lease", ttl=5):
                pass
    async with state.lock("lease", ttl=5):
        pass


async def test_publish_reaches_every_replica_including_its_own(state: SharedState, second: SharedState) -> None:
    here: asyncio.Queue[JSON] = asyncio.Queue()
    there: asyncio.Queue[JSON] = asyncio.Queue()
    await state.subscribe("events", here.put)
    await second.subscribe("events", there.put)
    await state.publish("events", {"kind": "changed", "n": 1})
    assert await asyncio.wait_for(there.get(), 1) == {"kind": "changed", "n": 1}
    assert await asyncio.wait_for(here.get(), 1) == {"kind": "changed", "n": 1}


async def test_a_publish_right_after_subscribe_returns_is_delivered(state: SharedState, second: SharedState) -> None:
    got: asyncio.Queue[JSON] = asyncio.Queue()
    for n in range(20):
        await state.subscribe(f"fresh-{n}", got.put)
        await second.publish(f"fresh-{n}", n)
    assert [await asyncio.wait_for(got.get(), 1) for _ in range(20)] == list(range(20))


async def test_messages_arrive_in_order_and_a_slow_handler_holds_up_nobody(
    state: SharedState, second: SharedState
) -> None:
    release, all_seen = asyncio.Event(), asyncio.Event()
    seen: list[JSON] = []

    async def slow(message: JSON) -> None:
        await release.wait()
        seen.append(message)
        if len(seen) == 30:
            all_seen.set()

    await second.subscribe("ordered", slow)
    started = time.monotonic()
    for n in range(30):
        await state.publish("ordered", n)
    assert _since(started) < 1
    release.set()
    await asyncio.wait_for(all_seen.wait(), 2)
    assert seen == list(range(30))


async def test_a_closed_subscription_gets_nothing_more(state: SharedState, second: SharedState) -> None:
    kept: asyncio.Queue[JSON] = asyncio.Queue()
    dropped: asyncio.Queue[JSON] = asyncio.Queue()
    closing = await second.subscribe("news", dropped.put)
    staying = await second.subscribe("news", kept.put)
    await closing.close()
    await state.publish("news", 1)
    assert await asyncio.wait_for(kept.get(), 1) == 1
    await staying.close()
    await state.publish("news", 2)
    again = await second.subscribe("news", kept.put)
    await state.publish("news", 3)
    assert await asyncio.wait_for(kept.get(), 1) == 3
    await again.close()
    assert dropped.empty() and kept.empty()


async def test_a_handler_may_close_its_own_subscription(state: SharedState, second: SharedState) -> None:
    seen: list[JSON] = []
    subscription: Subscription | None = None

    async def once(message: JSON) -> None:
        seen.append(message)
        assert subscription is not None
        await subscription.close()

    subscription = await second.subscribe("once", once)
    probe: asyncio.Queue[JSON] = asyncio.Queue()
    await second.subscribe("once", probe.put)
    for n in range(3):
        await state.publish("once", n)
    assert [await asyncio.wait_for(probe.get(), 1) for _ in range(3)] == [0, 1, 2]
    assert seen == [0]


async def test_a_failing_handler_is_logged_and_delivery_goes_on(
    state: SharedState, second: SharedState, caplog: pytest.LogCaptureFixture
) -> None:
    good: asyncio.Queue[JSON] = asyncio.Queue()

    async def flaky(message: JSON) -> None:
        if message == "bad":
            raise RuntimeError("boom")
        await good.put(message)

    await second.subscribe("jobs", flaky)
    with caplog.at_level(logging.ERROR, logger="msplex.state"):
        await state.publish("jobs", "bad")
        await state.publish("jobs", "good")
        assert await asyncio.wait_for(good.get(), 1) == "good"
    failures = [r for r in caplog.records if r.name == "msplex.state" and r.exc_info]
    assert len(failures) == 1 and "jobs" in failures[0].getMessage()


async def test_a_handler_may_use_the_state(state: SharedState, second: SharedState) -> None:
    async def answer(message: JSON) -> None:
        await second.put(f"answer-{message}", {"for": message}, ttl=5)
        await second.publish("answers", message)

    answers: asyncio.Queue[JSON] = asyncio.Queue()
    await second.subscribe("questions", answer)
    await state.subscribe("answers", answers.put)
    await state.publish("questions", "q1")
    assert await asyncio.wait_for(answers.get(), 1) == "q1"
    assert await state.take("answer-q1") == {"for": "q1"}
