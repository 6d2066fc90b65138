"""The bulkhead of a connector instance: workers handed over in order, a full line refused, nothing leaked."""

from __future__ import annotations

import asyncio

import pytest

from msplex.errors import Code, Denied
from msplex.workers import Bulkhead, Limits, Workers


async def test_free_workers_are_taken_without_waiting_then_callers_queue_in_order() -> None:
    bulkhead = Bulkhead("ev", Limits(concurrency=2, queue=2, queue_seconds=30))
    assert bulkhead.try_enter() and bulkhead.try_enter() and not bulkhead.try_enter()
    order: list[str] = []

    async def queued(name: str) -> None:
        await bulkhead.enter()
        order.append(name)

    first, second = asyncio.ensure_future(queued("first")), asyncio.ensure_future(queued("second"))
    await asyncio.sleep(0)
    assert (bulkhead.running, bulkhead.waiting) == (2, 2)
    bulkhead.leave()
    bulkhead.leave()
    await asyncio.gather(first, second)
    assert order == ["first", "second"] and (bulkhead.running, bulkhead.waiting) == (2, 0)


async def test_a_full_line_is_refused_at_once_as_busy_naming_the_instance() -> None:
    bulkhead = Bulkhead("slow-vendor", Limits(concurrency=1, queue=0, queue_seconds=30))
    await bulkhead.enter()
    with pytest.raises(Denied) as busy:
        await bulkhead.enter()
    assert busy.value.code is Code.BUSY and busy.value.stage == "dispatch"
    assert "'slow-vendor' is busy" in busy.value.reason and "try again" in busy.value.reason
    bulkhead.leave()
    assert bulkhead.try_enter()


async def test_a_caller_that_gives_up_in_line_leaks_no_worker() -> None:
    bulkhead = Bulkhead("ev", Limits(concurrency=1, queue=3, queue_seconds=30))
    await bulkhead.enter()
    waiting = asyncio.ensure_future(bulkhead.enter())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    bulkhead.leave()
    assert (bulkhead.running, bulkhead.waiting) == (0, 0)
    handed = asyncio.ensure_future(bulkhead.enter())
    await asyncio.sleep(0)
    assert handed.done() and bulkhead.running == 1


async def test_a_worker_handed_to_a_caller_that_was_cancelled_meanwhile_goes_to_the_next() -> None:
    bulkhead = Bulkhead("ev", Limits(concurrency=1, queue=3, queue_seconds=30))
    await bulkhead.enter()
    first = asyncio.ensure_future(bulkhead.enter())
    second = asyncio.ensure_future(bulkhead.enter())
    await asyncio.sleep(0)
    bulkhead.leave()  # hands the worker to ``first``...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 5)
    assert (bulkhead.running, bulkhead.waiting) == (1, 0)


async def test_waiting_too_long_for_a_worker_is_busy() -> None:
    bulkhead = Bulkhead("ev", Limits(concurrency=1, queue=1, queue_seconds=0.01))
    await bulkhead.enter()
    with pytest.raises(Denied) as busy:
        await bulkhead.enter()
    assert busy.value.code is Code.BUSY and "no worker came free" in busy.value.reason
    assert bulkhead.waiting == 0


def test_each_connector_instance_of_each_tenant_has_its_own_bulkhead() -> None:
    workers = Workers(Limits(concurrency=1))
    assert workers.of("t1", "ev") is workers.of("t1", "ev")
    assert workers.of("t1", "ev") is not workers.of("t1", "other")
    assert workers.of("t1", "ev") is not workers.of("t2", "ev")
    assert workers.of("t1", "ev").try_enter() and workers.of("t1", "other").try_enter()
