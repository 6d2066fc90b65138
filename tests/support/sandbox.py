"""Vendor fakes in tests: an ``httpx.Client`` on a fake served on 127.0.0.1 for the length of a ``with`` block,
and ``msplex`` run as an operator runs it (a child process) against one."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from msplex.sandbox._server import serve_in_thread

__all__ = ["msplex_cli", "served"]


@contextmanager
def served(app: Any, **client: Any) -> Iterator[httpx.Client]:
    """Serve ``app`` in a thread; the client's ``base_url`` is its root, ``client`` goes to ``httpx.Client``."""
    server = serve_in_thread(app)
    try:
        with httpx.Client(base_url=server.url, **client) as http:
            yield http
    finally:
        server.stop()


async def msplex_cli(home: Path, *args: str) -> tuple[int, str, str]:
    """``msplex ARGS`` in a child process with ``MSPLEX_HOME=home`` (no stdin): exit code, stdout, stderr."""
    env = {**os.environ, "MSPLEX_HOME": str(home)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "msplex", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()
