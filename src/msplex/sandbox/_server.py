"""Serve an ASGI app on 127.0.0.1 (a free port unless one is given) in a thread with its own event loop.

A thread, not a task on the caller's loop: a vendor fake must keep answering while its caller blocks
(a test running ``msplex connect`` in a subprocess, a CLI validating a credential against it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn

__all__ = ["Running", "serve_in_thread", "serve_many_in_thread"]


@dataclass
class Running:
    """A served app: ``url`` is its root (no trailing slash); ``stop`` shuts it down and joins the thread."""

    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)


def serve_in_thread(app: Any, port: int = 0, start_timeout: float = 10.0) -> Running:
    return _start(app, [_bind(port)], start_timeout)


def serve_many_in_thread(apps: Sequence[Any], start_timeout: float = 10.0) -> tuple[Running, list[int]]:
    """Several apps behind one server, one thread and one event loop, each on its own free port (the demo
    sandbox: one idle loop instead of five). Returns the server and each app's port, in order."""
    socks = [_bind(0) for _ in apps]
    ports = [int(sock.getsockname()[1]) for sock in socks]
    by_port = dict(zip(ports, apps, strict=True))

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        await by_port[scope["server"][1]](scope, receive, send)  # "server": the listening socket's address

    return _start(dispatch, socks, start_timeout), ports


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _start(app: Any, socks: list[socket.socket], start_timeout: float) -> Running:
    # log_config=None: a fake must not replace the logging set-up of the process it runs in (the gateway's)
    config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off", access_log=False)
    server = uvicorn.Server(config)

    def run() -> None:
        with contextlib.suppress(Exception):
            asyncio.run(server.serve(sockets=socks))
        for sock in socks:
            sock.close()

    thread = threading.Thread(target=run, name=f"sandbox-{socks[0].getsockname()[1]}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:  # uvicorn offers no start-up event to wait on
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    return Running(int(socks[0].getsockname()[1]), server, thread)
