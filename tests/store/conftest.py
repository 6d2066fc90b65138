"""A migrated ``Store`` on every backend: SQLite always, PostgreSQL when reachable.

PostgreSQL tests each get their own schema (``search_path``), dropped after,
so runs never see each other's rows. Set ``MSPLEX_TEST_POSTGRES_URL`` to use
another server; with ``CI=true`` an unreachable one fails instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa

from msplex.crypto import Keyring
from msplex.store import Store, make_engine

POSTGRES_URL = os.environ.get("MSPLEX_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def _postgres_schema(unavailable: Callable[[str, str], NoReturn]) -> str:
    admin = make_engine(POSTGRES_URL)
    schema = f"msplex_test_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        unavailable(f"PostgreSQL at {POSTGRES_URL}", f"{type(exc).__name__}: {str(exc)[:120]}")
    finally:
        await admin.dispose()
    return schema


async def _drop_schema(schema: str) -> None:
    admin = make_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine_url(
    request: pytest.FixtureRequest, tmp_path: Path, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[tuple[str, dict[str, object]]]:
    """``(url, engine kwargs)`` of an empty database on the parametrized backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}", {}
        return
    schema = await _postgres_schema(unavailable)
    try:
        yield POSTGRES_URL, {"connect_args": {"server_settings": {"search_path": schema}}}
    finally:
        await _drop_schema(schema)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([os.urandom(32)])


@pytest.fixture
async def store(engine_url: tuple[str, dict[str, object]], keyring: Keyring) -> AsyncIterator[Store]:
    url, kwargs = engine_url
    store = Store(make_engine(url, **kwargs), keyring)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
async def second_store(engine_url: tuple[str, dict[str, object]], keyring: Keyring) -> AsyncIterator[Store]:
    """Another ``Store`` on the same database, as another process (CLI, replica) would have."""
    url, kwargs = engine_url
    other = Store(make_engine(url, **kwargs), keyring)
    yield other
    await other.close()
