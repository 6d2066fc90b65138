"""The Hudu fake, served on 127.0.0.1 for one test: ``(fake, url)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from msplex.sandbox.hudu import HuduFake


@pytest.fixture
def served() -> Iterator[tuple[HuduFake, str]]:
    fake = HuduFake()
    running = fake.start()
    yield fake, running.url
    running.stop()
