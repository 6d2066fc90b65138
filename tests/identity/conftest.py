"""Fixtures for the identity tests: a test identity provider, an HTTP client, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from support.idp import Clock, Idp


@pytest.fixture
def idp() -> Iterator[Idp]:
    with Idp() as provider:
        yield provider


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One client for the session: building one (its TLS context) costs more than most tests here."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()
