"""``open_state`` picks the backend from the URL, and a wrong URL says so without leaking its password."""

from __future__ import annotations

import logging

import pytest

from msplex.state import open_state
from msplex.state.memory import MemoryState
from msplex.state.redis import RedisState


@pytest.mark.parametrize("url", [None, ""])
def test_no_url_means_the_in_process_backend(url: str | None) -> None:
    state = open_state(url)
    assert isinstance(state, MemoryState) and state.backend == "memory"


async def test_a_redis_url_means_the_redis_backend() -> None:
    state = open_state("redis://127.0.0.1:6379/0", prefix="elsewhere:")
    assert isinstance(state, RedisState) and state.backend == "redis"
    await state.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://admin:s3cret@not-redis.example:6379", "http://admin:***@not-redis.example:6379"),
        ("redis://:s3/cr#et@127.0.0.1:6379", "redis://:***@127.0.0.1:6379"),
    ],
)
def test_a_url_that_is_not_redis_is_refused_with_the_password_masked(url: str, shown: str) -> None:
    with pytest.raises(ValueError, match="invalid Redis URL") as caught:
        open_state(url)
    assert shown in str(caught.value)
    assert "s3" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://admin:s3cret@127.0.0.1:1/0", "redis://admin:***@127.0.0.1:1/0"),
        ("redis://127.0.0.1:1/0?password=s3cret&db=0", "redis://127.0.0.1:1/0?password=***&db=0"),
        ("unix:///nonexistent/redis.sock?password=s3cret", "unix:///nonexistent/redis.sock?password=***"),
    ],
)
async def test_an_unreachable_redis_is_named_without_its_password(
    url: str, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = open_state(url)
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectionError) as caught:
        await state.start()
    assert shown in str(caught.value)
    leaked = [str(caught.value), repr(caught.value.__cause__), caplog.text]
    assert not [text for text in leaked if "s3cret" in text]
    await state.close()
