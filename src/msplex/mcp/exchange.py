"""One request/response exchange on the client side: the ``Peer`` a call sees.

The answer is JSON unless something must be streamed first: the first
notification or server-to-client request commits the response to
``text/event-stream``, after which everything (including the final response)
goes out as SSE events. Most calls never stream, so most answers are one JSON
body. A client that accepts only JSON gets only the final response: its
notifications are dropped and it cannot be asked anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msplex import protocol
from msplex.mcp.http import Send, send_json, sse_event, start_sse
from msplex.protocol.jsonrpc import JSON, error

if TYPE_CHECKING:
    from msplex.mcp.session_state import SessionState

__all__ = ["Exchange"]


class Exchange:
    __slots__ = ("_can_stream", "_headers", "_sessions", "_sid", "can_request", "closed", "send", "streaming")

    def __init__(
        self,
        send: Send,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        sessions: SessionState | None = None,
        sid: str | None = None,
        can_stream: bool = True,
    ) -> None:
        self.send = send
        self.streaming = False
        self.closed = False
        self._headers = headers
        self._sessions = sessions
        self._sid = sid
        self._can_stream = can_stream
        self.can_request = can_stream and sessions is not None and sid is not None

    async def _event(self, message: JSON) -> None:
        if self.closed or not self._can_stream:
            return
        if not self.streaming:
            self.streaming = True
            await start_sse(self.send, self._headers)
        await self.send({"type": "http.response.body", "body": sse_event(message), "more_body": True})

    async def notify(self, message: JSON) -> None:
        await self._event(message if "jsonrpc" in message else {"jsonrpc": "2.0", **message})

    async def request(self, method: str, params: JSON | None) -> JSON:
        """Ask the (legacy) client; its answer may arrive as a POSTed response on any replica."""
        if not self.can_request or self._sessions is None or self._sid is None:
            return {"error": error(protocol.METHOD_NOT_FOUND, "the client has no back-channel")}
        request_id = self._sessions.next_request_id()
        message: JSON = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        await self._event(message)
        answer = await self._sessions.await_answer(self._sid, request_id)
        if answer is None:
            return {"error": error(protocol.REQUEST_TIMEOUT, "the client did not answer")}
        return answer

    async def finish(self, response: JSON, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        if self.streaming:
            await self.send({"type": "http.response.body", "body": sse_event(response), "more_body": False})
        else:
            await send_json(self.send, status, response, [*(self._headers or []), *(headers or [])] or None)

    async def abandon(self) -> None:
        """End the exchange without a response (the request was cancelled)."""
        if self.closed:
            return
        self.closed = True
        if not self.streaming:
            await start_sse(self.send, self._headers)
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})
