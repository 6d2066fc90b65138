"""Fixtures shared by the whole suite. Keep this small and generic."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(what: str, reason: str) -> NoReturn:
    """Skip locally, fail in CI: a service CI promises must not silently skip its tests."""
    message = f"{what} is unavailable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def unavailable() -> Callable[[str, str], NoReturn]:
    """``unavailable("PostgreSQL at ...", reason)``: skip the test, or fail it when ``CI=true``."""
    return _unavailable


@pytest.fixture
def msplex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``MSPLEX_HOME``, with every other ``MSPLEX_*`` variable cleared for the test."""
    for name in list(os.environ):
        if name.startswith("MSPLEX_"):
            monkeypatch.delenv(name)
    home = tmp_path / "msplex-home"
    monkeypatch.setenv("MSPLEX_HOME", str(home))
    yield home
