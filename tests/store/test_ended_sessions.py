"""Ended legacy sessions are shared through the store (any replica ends, every replica learns)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from msplex.store import Store
from msplex.store.errors import InvalidInput
from msplex.store.models import utcnow


async def test_replicas_read_ended_sessions_in_order_and_only_once(store: Store, second_store: Store) -> None:
    ended, cursor = await second_store.ended_sessions_after(0)
    assert ended == []
    await store.end_session("s1", "t1")
    await store.end_session("s2", "t1")
    ended, cursor = await second_store.ended_sessions_after(cursor)
    assert ended == ["s1", "s2"]
    assert await second_store.ended_sessions_after(cursor) == ([], cursor)
    await store.end_session("s3", "t2")
    assert (await second_store.ended_sessions_after(cursor))[0] == ["s3"]


async def test_old_records_are_purged(store: Store) -> None:
    await store.end_session("s1", "t1")
    assert await store.purge_ended_sessions(utcnow() - timedelta(days=1)) == 0
    assert await store.purge_ended_sessions(utcnow() + timedelta(seconds=1)) == 1
    assert (await store.ended_sessions_after(0))[0] == []


async def test_a_session_id_must_be_sane(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.end_session("", "t1")
    with pytest.raises(InvalidInput):
        await store.end_session("x" * 65, "t1")
