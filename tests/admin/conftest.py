"""Fixtures of the admin API tests: ``admin`` on SQLite and PostgreSQL, ``sqlite_admin`` on SQLite only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import NoReturn

import pytest

from support.admin import Admin, start_admin


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def admin(
    request: pytest.FixtureRequest, msplex_home: Path, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[Admin]:
    async for harness in start_admin(request.param, msplex_home, unavailable):
        yield harness


@pytest.fixture
async def sqlite_admin(msplex_home: Path, unavailable: Callable[[str, str], NoReturn]) -> AsyncIterator[Admin]:
    """SQLite only: the store is the one ``msplex`` commands use in this ``MSPLEX_HOME``."""
    async for harness in start_admin("sqlite", msplex_home, unavailable):
        yield harness
