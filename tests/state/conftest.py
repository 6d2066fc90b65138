"""A started ``SharedState`` on every backend: in-process always, Redis when reachable.

Each Redis test gets its own key prefix (its keys are deleted after), and
``second`` is another ``RedisState`` on the same server and prefix: another
replica. On the memory backend ``second`` is the same instance, the only
other party one process has. Set ``MSPLEX_TEST_REDIS_URL`` to use another
server; with ``CI=true`` an unreachable one fails instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NoReturn
from uuid import uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from msplex.state import SharedState
from msplex.state.memory import MemoryState
from msplex.state.redis import RedisState

REDIS_URL = os.environ.get("MSPLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Scratch:
    """A namespace of its own on the test Redis, and a plain client to inspect (or sabotage) it."""

    admin: Redis
    prefix: str


@asynccontextmanager
async def _scratch(unavailable: Callable[[str, str], NoReturn]) -> AsyncIterator[Scratch]:
    admin = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        try:
            await admin.ping()
        except (RedisError, OSError) as exc:
            unavailable(f"Redis at {REDIS_URL.rpartition('@')[2]}", f"{type(exc).__name__}: {str(exc)[:120]}")
        prefix = f"msplex-test-{uuid4().hex[:8]}:"
        try:
            yield Scratch(admin, prefix)
        finally:
            keys = [key async for key in admin.scan_iter(match=f"{prefix}*")]
            if keys:
                await admin.delete(*keys)
    finally:
        await admin.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def scratch(
    request: pytest.FixtureRequest, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[Scratch | None]:
    """The Redis namespace of a parametrized test, ``None`` on the memory backend."""
    if request.param == "memory":
        yield None
        return
    async with _scratch(unavailable) as scratch:
        yield scratch


@pytest.fixture
async def redis_scratch(unavailable: Callable[[str, str], NoReturn]) -> AsyncIterator[Scratch]:
    """The Redis namespace of a Redis-only test."""
    async with _scratch(unavailable) as scratch:
        yield scratch


@pytest.fixture
async def state(scratch: Scratch | None) -> AsyncIterator[SharedState]:
    started: SharedState = MemoryState() if scratch is None else RedisState(REDIS_URL, prefix=scratch.prefix)
    await started.start()
    yield started
    await started.close()


@pytest.fixture
async def second(scratch: Scratch | None, state: SharedState) -> AsyncIterator[SharedState]:
    """Another replica of ``state`` (``state`` itself on the memory backend)."""
    if scratch is None:
        yield state
        return
    other = RedisState(REDIS_URL, prefix=scratch.prefix)
    await other.start()
    yield other
    await other.close()


@pytest.fixture
async def replica(redis_scratch: Scratch) -> AsyncIterator[Callable[[], Awaitable[RedisState]]]:
    """Starts ``RedisState`` replicas in the test's namespace; all are closed after the test."""
    started: list[RedisState] = []

    async def start() -> RedisState:
        state = RedisState(REDIS_URL, prefix=redis_scratch.prefix)
        await state.start()
        started.append(state)
        return state

    yield start
    for state in started:
        await state.close()
