"""The process around the ASGI app: its listening socket, guards against slow clients, logging.

uvicorn's httptools protocol, left alone, lets a client hold a connection for
ever: nothing bounds how long request headers may take (only idleness after a
response is), and nothing bounds how many connections are open. A hostile
client opening thousands of idle or half-sent connections then exhausts file
descriptors and memory. ``GuardedHttpToolsProtocol`` adds a deadline for a
request's headers and a cap on open connections; the body's deadline is
``msplex.mcp.http.read_body``'s, since only the app knows when it reads one.

The header deadline costs one loop timer per connection, not per request:
requests only move a deadline (a float), and the timer, when it fires, either
acts or re-arms itself for the current deadline. A request being served is
never cut off by it, however long its response lasts (SSE streams do for
hours).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, ClassVar, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    from msplex.settings import Settings

__all__ = ["BACKLOG", "GuardedHttpToolsProtocol", "configure_logging", "guarded_protocol", "listen"]

log = logging.getLogger("msplex.httpserver")

BACKLOG = 2048
RETRY_AFTER_SECONDS = 5
REFUSAL_LOG_SECONDS = 10.0
"""Refused connections are logged at most once per this many seconds: a flood must not flood the log too."""
LINGER_SECONDS = 1.0
"""How long a refused connection may stay half-closed, for its client to read the 503 and hang up."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATABASE_LOGGERS = ("sqlalchemy", "aiosqlite", "asyncpg", "alembic")


def _response(status: int, reason: str, detail: str, *headers: bytes) -> bytes:
    """A complete problem+json response with ``connection: close``, written straight to a transport
    (no ASGI cycle exists for a connection refused or timed out before its request)."""
    body = orjson.dumps({"type": "about:blank", "title": reason, "status": status, "detail": detail})
    head = [
        b"HTTP/1.1 %d %s" % (status, reason.encode()),
        b"content-type: application/problem+json",
        b"content-length: %d" % len(body),
        b"connection: close",
        *headers,
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def listen(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A listening socket on ``host:port``, bound before anything else happens.

    ``msplex serve`` binds first so that a busy port is a one-line error before the store is
    touched, and hands uvicorn this very socket, so nothing can take the port in between.
    Raises ``OSError`` (``socket.gaierror`` for a host that does not resolve).
    """
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def configure_logging(settings: Settings) -> None:
    """The one logging set-up, for ``msplex serve`` and the CLI alike: timestamped lines on stderr.

    The database stack stays at WARNING even at debug (aiosqlite alone logs a line per call,
    which buries everything else) unless ``MSPLEX_LOG_SQL`` asks for it. Safe to call twice:
    the CLI sets up logging before migrating, then the server does again.
    """
    logging.basicConfig(format=LOG_FORMAT)
    logging.getLogger().setLevel(settings.log_level.upper())
    for name in DATABASE_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if settings.log_sql else logging.WARNING)


class _RefusalLog:
    """Counts refused connections and reports them at most once per ``REFUSAL_LOG_SECONDS``."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.unreported = 0
        self.reported_at = -REFUSAL_LOG_SECONDS

    def refused(self) -> None:
        self.unreported += 1
        now = time.monotonic()
        if now - self.reported_at >= REFUSAL_LOG_SECONDS:
            log.warning(
                "refused %d connection(s) beyond MSPLEX_MAX_CONNECTIONS=%d (503); further refusals are "
                "reported at most every %g s",
                self.unreported,
                self.cap,
                REFUSAL_LOG_SECONDS,
            )
            self.unreported = 0
            self.reported_at = now


class _Refusal(asyncio.Protocol):
    """A connection over the cap: answered 503 at once and half-closed, then closed.

    Half-closing (FIN after the response) rather than closing outright means a client that has
    already sent its request reads the 503 instead of a reset; what it sends is discarded, and
    the socket is closed when the client hangs up or after ``LINGER_SECONDS``, whichever is first.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, response: bytes) -> None:
        self.transport = transport
        transport.write(response)
        if transport.can_write_eof():
            transport.write_eof()
        self.linger = loop.call_later(LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.linger.cancel()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a connection cap.

    Use ``guarded_protocol()`` for a class bound to the configured limits: uvicorn builds one
    protocol per connection and passes no arguments of ours.

    Header deadline: a connection must deliver a request's complete headers within
    ``header_timeout`` seconds of opening, of the first byte of each later request, and of the
    end of the previous response (so bytes that never start a request, such as blank lines or
    the unread rest of a body the app did not want, cannot keep it open either). When it passes,
    the client gets 408 and the connection is closed. It only covers waiting for headers: once a
    request's headers are in, its response may last as long as it likes.

    Connection cap: a connection beyond ``max_connections`` open ones gets 503 with Retry-After
    at once and is closed, without ever reaching the app.
    """

    header_timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 1000
    refusals: ClassVar[_RefusalLog] = _RefusalLog(1000)

    _awaiting_headers = True
    """Whether the connection is waiting for a request's headers (rather than serving a request)."""
    _headers_due = 0.0
    """Loop time by which the awaited headers must be complete."""
    _deadline_timer: asyncio.TimerHandle | None = None

    _REQUEST_TIMEOUT = _response(408, "Request Timeout", "the request headers did not arrive in time")
    _SERVICE_UNAVAILABLE = _response(
        503,
        "Service Unavailable",
        "too many open connections; retry later",
        b"retry-after: %d" % RETRY_AFTER_SECONDS,
    )

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections:
            self.refusals.refused()
            transport.set_protocol(_Refusal(transport, self.loop, self._SERVICE_UNAVAILABLE))
            return
        super().connection_made(transport)
        self._headers_due = self.loop.time() + self.header_timeout
        self._deadline_timer = self.loop.call_at(self._headers_due, self._deadline_passed)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.cycle is not None:  # a later request on a kept-alive connection: its own full deadline
            self._headers_due = self.loop.time() + self.header_timeout
        self._awaiting_headers = True

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        idle = not self.pipeline  # else the next, already received, request is served now
        super().on_response_complete()
        if idle and not self._awaiting_headers and not self.transport.is_closing():
            self._awaiting_headers = True
            self._headers_due = self.loop.time() + self.header_timeout

    def _deadline_passed(self) -> None:
        """The timer: re-arm for the current deadline, or act on a missed one.

        Every change of deadline is to a later time than the timer's, so it never fires late.
        """
        self._deadline_timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        if not self._awaiting_headers:  # serving a request, however long it takes: look again later
            self._deadline_timer = self.loop.call_at(now + self.header_timeout, self._deadline_passed)
            return
        if now < self._headers_due:
            self._deadline_timer = self.loop.call_at(self._headers_due, self._deadline_passed)
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # a pipelined request is late behind a response still being sent: finish that, then close
            cycle.keep_alive = False
            self.flow.pause_reading()
            return
        if cycle is None or not cycle.more_body:  # nothing of a response was sent for this request
            self.transport.write(self._REQUEST_TIMEOUT)
        log.debug("closed %s: no complete request headers within %g s", self.client, self.header_timeout)
        self.transport.close()


def guarded_protocol(*, header_timeout: float, max_connections: int) -> type[GuardedHttpToolsProtocol]:
    """A ``GuardedHttpToolsProtocol`` class bound to these limits, for uvicorn's ``http=``."""
    attributes = {
        "header_timeout": header_timeout,
        "max_connections": max_connections,
        "refusals": _RefusalLog(max_connections),
    }
    return cast(
        "type[GuardedHttpToolsProtocol]", type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), attributes)
    )
