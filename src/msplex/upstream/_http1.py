"""A lean HTTP/1.1 client for upstream MCP traffic: asyncio protocol + ``httptools`` parser.

Why not aiohttp or httpx here: this is the gateway's hot path and its budget
is 400 µs of CPU per proxied ``tools/call``. Measured on this project's
2-core reference machine, one keep-alive JSON POST costs ~37 µs of client
CPU with this module, ~170 µs with a tuned ``aiohttp.ClientSession`` and
~1.6 ms with ``httpx``. The HTTP parsing itself is ``httptools`` (the
llhttp parser uvicorn uses); this module only frames requests and pools
keep-alive connections per origin.

Scope, deliberately small: HTTP/1.1 over TCP or TLS, keep-alive pooling,
fixed-length or chunked bodies, streamed response bodies (SSE). No
redirects, cookies, proxies or compression negotiation: an MCP upstream is
one URL. The surface mirrors the subset of aiohttp's client that
``HttpSession`` uses (``post``/``get``/``delete`` usable with ``await`` or
``async with``; ``status``, ``headers.get``, ``read``, ``content.read``,
``content.iter_any``, ``release``), so the session code reads the same.
Failures are ``ConnectionError`` (an ``OSError``).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any
from urllib.parse import urlsplit

import httptools

__all__ = ["MAX_BUFFERED", "Client", "Response", "UpstreamDisconnected"]

_MAX_IDLE = 32
MAX_BUFFERED = 32 * 1024 * 1024
"""Bytes of a response the gateway holds unread before it gives up on the upstream: a JSON
body is read whole, so this caps its size; a stream read as it arrives never gets near it."""


class UpstreamDisconnected(ConnectionError):
    """The connection closed before a complete response arrived."""


class _Headers(dict[str, str]):
    """Response headers by lower-cased name; ``get`` is case-insensitive."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class _Conn(asyncio.Protocol):
    __slots__ = (
        "_body_waiter",
        "_buffered",
        "_chunks",
        "_done",
        "_error",
        "_head",
        "_headers",
        "_parser",
        "_status",
        "keep_alive",
        "transport",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.keep_alive = True
        self._reset()

    def _reset(self) -> None:
        self._head: asyncio.Future[None] | None = None
        self._headers = _Headers()
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._body_waiter: asyncio.Future[None] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._status = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamDisconnected(f"malformed HTTP response ({type(exc).__name__})"))
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.keep_alive = False
        self.transport = None
        if self._done:
            return
        if (
            self._status
            and "content-length" not in self._headers
            and "chunked" not in self._headers.get("transfer-encoding", "")
        ):
            self.on_message_complete()  # a body delimited by the connection closing
        else:
            self._fail(UpstreamDisconnected("connection closed by the upstream"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > MAX_BUFFERED:
            self._fail(UpstreamDisconnected(f"the upstream's response exceeds {MAX_BUFFERED} bytes"))
            if self.transport is not None:
                self.transport.close()
            return
        self._wake()

    def on_message_complete(self) -> None:
        self._done = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._body_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        if self._head is not None and not self._head.done():
            self._head.set_exception(exc)
        waiter = self._body_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    # used by Response
    async def next_chunk(self) -> bytes | None:
        while not self._chunks:
            if self._done:
                return None
            if self._error is not None:
                raise self._error
            self._body_waiter = asyncio.get_running_loop().create_future()
            await self._body_waiter
        if self._error is not None:
            raise self._error
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        return chunk


class _Content:
    """aiohttp's ``StreamReader`` subset: ``read(n)`` and ``iter_any()``."""

    def __init__(self, response: Response) -> None:
        self._response = response
        self._buffer = b""

    async def read(self, n: int = -1) -> bytes:
        conn = self._response._conn
        while n < 0 or len(self._buffer) < n:
            chunk = await conn.next_chunk()
            if chunk is None:
                break
            self._buffer += chunk
        if n < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    async def readany(self) -> bytes:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        return await self._response._conn.next_chunk() or b""

    def at_eof(self) -> bool:
        conn = self._response._conn
        return not self._buffer and conn._done and not conn._chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            yield data
        conn = self._response._conn
        while (chunk := await conn.next_chunk()) is not None:
            yield chunk


class Response:
    __slots__ = ("_client", "_conn", "_released", "content", "headers", "status")

    def __init__(self, client: Client, conn: _Conn) -> None:
        self._client = client
        self._conn = conn
        self.status = conn._status
        self.headers = conn._headers
        self.content = _Content(self)
        self._released = False

    async def read(self) -> bytes:
        conn = self._conn
        if conn._done and conn._error is None:
            data = b"".join(conn._chunks)
            conn._chunks.clear()
            conn._buffered = 0
            return data
        return await self.content.read()

    def release(self) -> None:
        self.close()

    def close(self) -> None:
        """Return the connection to the pool if the body was read whole, else drop it."""
        if self._released:
            return
        self._released = True
        self._client._put(self._conn, reusable=self._conn._done and not self._conn._chunks)

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class _Pending:
    """What ``post``/``get``/``delete`` return: awaitable, or an async context manager."""

    __slots__ = ("_coro", "_response")

    def __init__(self, coro: Any) -> None:
        self._coro = coro
        self._response: Response | None = None

    def __await__(self) -> Generator[Any, None, Response]:
        awaiting: Generator[Any, None, Response] = self._coro.__await__()
        return awaiting

    async def __aenter__(self) -> Response:
        self._response = await self._coro
        return self._response

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            self._response.close()


@functools.lru_cache(maxsize=1024)
def _parse(url: str, method: str) -> tuple[tuple[str, str, int], str]:
    """Origin and request line (with ``Host``) of ``url``; cached: a session posts to one URL."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("upstream URLs must be absolute http(s) URLs")
    port = parts.port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    return (scheme, parts.hostname, port), f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"


class Client:
    """Keep-alive connections to the origins of the URLs it is asked for."""

    def __init__(
        self, *, connect_timeout: float = 10.0, address_guard: Callable[[str, int], Awaitable[str]] | None = None
    ) -> None:
        self._guard = address_guard
        """Given host and port, the address to connect to, or an ``OSError``: checked at each new connection."""
        self._idle: dict[tuple[str, str, int], collections.deque[_Conn]] = {}
        self._origin_of: dict[_Conn, tuple[str, str, int]] = {}
        self._connect_timeout = connect_timeout
        self._ssl: ssl.SSLContext | None = None
        self.closed = False

    def post(self, url: Any, *, data: bytes = b"", headers: dict[str, str] | None = None) -> _Pending:
        return _Pending(self._request("POST", url, headers or {}, data))

    def get(self, url: Any, *, headers: dict[str, str] | None = None) -> _Pending:
        return _Pending(self._request("GET", url, headers or {}, None))

    def delete(self, url: Any, *, headers: dict[str, str] | None = None) -> _Pending:
        return _Pending(self._request("DELETE", url, headers or {}, None))

    async def close(self) -> None:
        self.closed = True
        for conns in self._idle.values():
            for conn in conns:
                if conn.transport is not None:
                    conn.transport.close()
        self._idle.clear()

    async def _request(self, method: str, url: Any, headers: dict[str, str], body: bytes | None) -> Response:
        if self.closed:
            raise UpstreamDisconnected("the client is closed")
        origin, request_line = _parse(str(url), method)
        lines = [request_line]
        for key, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in key or "\n" in key:
                raise ValueError("header names and values must not contain line breaks")
            lines.append(f"{key}: {value}\r\n")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        payload = head + body if body else head
        reused = True
        conn = self._take(origin)
        if conn is None:
            reused = False
            conn = await self._connect(origin)
        try:
            return await self._exchange(conn, payload)
        except UpstreamDisconnected:
            if not reused:
                raise
            # A pooled connection the upstream closed while idle: retry once on a fresh one.
            conn = await self._connect(origin)
            return await self._exchange(conn, payload)

    async def _exchange(self, conn: _Conn, payload: bytes) -> Response:
        conn._reset()
        conn._head = asyncio.get_running_loop().create_future()
        transport = conn.transport
        if transport is None:
            raise UpstreamDisconnected("connection closed by the upstream")
        transport.write(payload)
        try:
            await conn._head
        except BaseException:
            self._drop(conn)
            raise
        return Response(self, conn)

    def _take(self, origin: tuple[str, str, int]) -> _Conn | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.transport is not None and not conn.transport.is_closing():
                return conn
            self._origin_of.pop(conn, None)
        return None

    async def _connect(self, origin: tuple[str, str, int]) -> _Conn:
        scheme, hostname, port = origin
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            async with asyncio.timeout(self._connect_timeout):
                address = await self._guard(hostname, port) if self._guard is not None else hostname
                server_hostname = hostname if context is not None else None
                _, conn = await loop.create_connection(
                    _Conn, address, port, ssl=context, server_hostname=server_hostname
                )
        except TimeoutError:
            raise UpstreamDisconnected("timed out connecting to the upstream") from None
        except UpstreamDisconnected:
            raise
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UpstreamDisconnected(f"cannot connect to the upstream ({reason})") from None
        self._origin_of[conn] = origin
        return conn

    def _put(self, conn: _Conn, *, reusable: bool) -> None:
        origin = self._origin_of.get(conn)
        if not reusable or not conn.keep_alive or conn.transport is None or origin is None or self.closed:
            self._drop(conn)
            return
        idle = self._idle.setdefault(origin, collections.deque())
        if len(idle) >= _MAX_IDLE:
            self._drop(conn)
            return
        idle.append(conn)

    def _drop(self, conn: _Conn) -> None:
        self._origin_of.pop(conn, None)
        if conn.transport is not None:
            conn.transport.close()
