"""Long-lived server-to-client streams: the legacy GET stream and 2026-07-28 ``subscriptions/listen``.

Both turn ``Event``s for one tenant into notifications, with a keep-alive
comment every ``KEEPALIVE`` seconds, until the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from msplex.mcp.http import Receive, Send, sse_event, start_sse
from msplex.protocol.jsonrpc import JSON

if TYPE_CHECKING:
    from msplex.events import Event, Listener

__all__ = ["KEEPALIVE", "pump"]

KEEPALIVE = 15.0
_QUEUE_LIMIT = 1024


async def pump(
    listen: Callable[[Listener], Callable[[], None]],
    receive: Receive,
    send: Send,
    render: Callable[[Event], JSON | None],
    queue: asyncio.Queue[JSON | None],
    *,
    first: JSON | None = None,
) -> None:
    """Serve ``queue`` (fed by events through ``render``) as SSE until disconnect or ``None``."""

    def deliver(event: Event) -> None:
        message = render(event)
        if message is not None and queue.qsize() < _QUEUE_LIMIT:
            queue.put_nowait(message)

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    remove = listen(deliver)
    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await start_sse(send)
        opening = sse_event(first) if first is not None else b": open\n\n"
        await send({"type": "http.response.body", "body": opening, "more_body": True})
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE):
                    message = await queue.get()
            except TimeoutError:
                await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
                continue
            if message is None:
                break
            await send({"type": "http.response.body", "body": sse_event(message), "more_body": True})
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        remove()
        watcher.cancel()
