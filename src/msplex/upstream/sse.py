"""An incremental Server-Sent Events parser (WHATWG event-stream rules) over raw bytes.

Fed whatever chunks the socket yields; returns only complete events. Handles
``\\n``, ``\\r\\n`` and bare ``\\r`` line endings, including a ``\\r\\n`` split
across two chunks, comment lines (keep-alives), multi-line ``data``, ``id``
and ``retry``. Works on bytes and decodes only the ``data`` payload, because
the caller hands that straight to ``orjson.loads``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEEvent", "SSEParser", "SSETooLarge"]


class SSETooLarge(ValueError):
    """One event exceeded the parser's size cap."""


@dataclass(slots=True)
class SSEEvent:
    event: str
    data: bytes
    id: str | None = None
    retry: int | None = None


class SSEParser:
    """Stateful parser: ``feed(chunk)`` returns the events completed by that chunk.

    ``last_event_id`` follows the spec: it persists across events until
    changed. ``retry`` holds the last reconnection delay (ms) the server set.
    """

    __slots__ = ("_buf", "_data", "_event", "_max", "_pending_cr", "_size", "last_event_id", "retry")

    def __init__(self, max_event_size: int = 16 * 1024 * 1024) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event = ""
        self._pending_cr = False
        self._max = max_event_size
        self._size = 0
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pending_cr:
            self._pending_cr = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):
                self._pending_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        if len(self._buf) > self._max:
            raise SSETooLarge("SSE line exceeds the size limit")
        events: list[SSEEvent] = []
        for line in lines:
            if not line:
                if self._data or self._event:
                    ev = self._dispatch()
                    if ev is not None:
                        events.append(ev)
                continue
            if line[0] == 58:  # ":" comment / keep-alive
                continue
            field, sep, value = line.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if field == b"data":
                self._size += len(value)
                if self._size > self._max:
                    raise SSETooLarge("SSE event exceeds the size limit")
                self._data.append(value)
            elif field == b"event":
                self._event = value.decode("utf-8", "replace")
            elif field == b"id":
                if b"\0" not in value:
                    self.last_event_id = value.decode("utf-8", "replace")
            elif field == b"retry" and value.isdigit():
                self.retry = int(value)
        return events

    def _dispatch(self) -> SSEEvent | None:
        data = self._data
        event = self._event or "message"
        self._data = []
        self._event = ""
        self._size = 0
        if not data:
            return SSEEvent(event, b"", self.last_event_id, self.retry) if event != "message" else None
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        return SSEEvent(event, payload, self.last_event_id, self.retry)
