"""An ``httpx.Client`` on a vendor fake served on 127.0.0.1 for the length of a ``with`` block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from msplex.sandbox._server import serve_in_thread

__all__ = ["served"]


@contextmanager
def served(app: Any, **client: Any) -> Iterator[httpx.Client]:
    """Serve ``app`` in a thread; the client's ``base_url`` is its root, ``client`` goes to ``httpx.Client``."""
    server = serve_in_thread(app)
    try:
        with httpx.Client(base_url=server.url, **client) as http:
            yield http
    finally:
        server.stop()
