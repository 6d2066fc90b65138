"""Long-lived server-to-client streams: the legacy GET stream and 2026-07-28 ``subscriptions/listen``.

Both turn gateway ``Event``s for one tenant into notifications, with a
keep-alive comment every ``KEEPALIVE`` seconds, until the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from msplex.mcp import wire
from msplex.mcp.http import Receive, Send, start_sse

if TYPE_CHECKING:
    from msplex.federation.events import Event
    from msplex.federation.gateway import Gateway

__all__ = ["KEEPALIVE", "LIST_CHANGED", "pump"]

KEEPALIVE = 15.0
LIST_CHANGED = {
    "tools": "notifications/tools/list_changed",
    "prompts": "notifications/prompts/list_changed",
    "resources": "notifications/resources/list_changed",
}

JSON = dict[str, Any]


async def pump(
    gateway: Gateway,
    receive: Receive,
    send: Send,
    render: Callable[[Event], JSON | None],
    queue: asyncio.Queue[JSON | None],
    *,
    first: JSON | None = None,
) -> None:
    """Serve ``queue`` (fed by gateway events through ``render``) as SSE until disconnect or ``None``."""

    def deliver(event: Event) -> None:
        message = render(event)
        if message is not None and queue.qsize() < 1024:
            queue.put_nowait(message)

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        queue.put_nowait(None)

    remove = gateway.listen(deliver)
    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await start_sse(send)
        if first is not None:
            await send({"type": "http.response.body", "body": wire.sse_event(first), "more_body": True})
        else:
            await send({"type": "http.response.body", "body": b": open\n\n", "more_body": True})
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE):
                    message = await queue.get()
            except TimeoutError:
                await send({"type": "http.response.body", "body": b": ping\n\n", "more_body": True})
                continue
            if message is None:
                break
            await send({"type": "http.response.body", "body": wire.sse_event(message), "more_body": True})
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        remove()
        watcher.cancel()
