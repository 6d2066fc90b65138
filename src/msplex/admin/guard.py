"""The admin app's outer guard: the body limits of the MCP edge, and no traceback in any answer.

The whole request body is read first, under the same cap and deadline as an MCP
POST (``MSPLEX_MAX_BODY_BYTES``, ``MSPLEX_BODY_TIMEOUT_SECONDS``; then 413 or 408),
and replayed to the app. An exception nothing else handled is logged and answered
with a bare 500 problem (when the response has not started yet).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from msplex.mcp.http import Receive, Scope, Send, TooLarge, TooSlow, read_body, send_problem

__all__ = ["Guard"]

log = logging.getLogger("msplex.admin")

ASGIApp = Any
"""Starlette's app type: called as ``app(scope, receive, send)``."""


class Guard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_seconds: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive, self.max_body_bytes, self.body_timeout_seconds)
        except TooLarge:
            await send_problem(send, 413, "Content Too Large", f"the body exceeds {self.max_body_bytes} bytes")
            return
        except TooSlow:
            detail = f"the body did not arrive within {self.body_timeout_seconds:g} s"
            await send_problem(send, 408, "Request Timeout", detail, [(b"connection", b"close")])
            return
        replayed = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        started = False

        async def watch(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, replay, watch)
        except Exception:
            log.exception("admin API: unexpected failure on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await send_problem(send, 500, "Internal Server Error", "unexpected error; see the gateway's log")
