"""One request/response exchange on the client side: the ``Peer`` a call sees.

The answer is JSON unless something must be streamed first: the first
notification or server-to-client request commits the response to
``text/event-stream``, after which everything (including the final response)
goes out as SSE events. Most calls never stream, so most answers are one
JSON body.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from msplex.mcp import wire
from msplex.mcp.http import Send, send_json, start_sse

if TYPE_CHECKING:
    from msplex.mcp.sessions import SessionLocal

__all__ = ["Exchange"]

JSON = dict[str, Any]


class Exchange:
    __slots__ = ("_headers", "_local", "_sid", "can_request", "closed", "send", "streaming")

    def __init__(
        self,
        send: Send,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        local: SessionLocal | None = None,
        sid: str | None = None,
        can_request: bool = False,
    ) -> None:
        self.send = send
        self.streaming = False
        self.closed = False
        self._headers = headers
        self._local = local
        self._sid = sid
        self.can_request = can_request and local is not None

    async def _event(self, message: JSON) -> None:
        if self.closed:
            return
        if not self.streaming:
            self.streaming = True
            await start_sse(self.send, self._headers)
        await self.send({"type": "http.response.body", "body": wire.sse_event(message), "more_body": True})

    async def notify(self, message: JSON) -> None:
        await self._event(message if "jsonrpc" in message else {"jsonrpc": "2.0", **message})

    async def request(self, method: str, params: JSON | None) -> JSON:
        """Ask the (legacy) client; its answer arrives as a POSTed response on any request."""
        if not self.can_request or self._local is None or self._sid is None:
            return {"error": wire.error(wire.METHOD_NOT_FOUND, "the client has no back-channel")}
        request_id = self._local.next_request_id()
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._local.pending[request_id] = (self._sid, future)
        message: JSON = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._event(message)
            return await future
        finally:
            self._local.pending.pop(request_id, None)

    async def finish(self, response: JSON, status: int = 200) -> None:
        if self.closed:
            return
        self.closed = True
        if self.streaming:
            await self.send({"type": "http.response.body", "body": wire.sse_event(response), "more_body": False})
        else:
            await send_json(self.send, status, response, self._headers)

    async def abandon(self) -> None:
        """End the exchange without a response (the request was cancelled)."""
        if self.closed:
            return
        self.closed = True
        if not self.streaming:
            await start_sse(self.send, self._headers)
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})
