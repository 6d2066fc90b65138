"""The loopback redirect of an OAuth authorization-code grant (RFC 8252 §7.3): a one-shot listener on
127.0.0.1 that receives ``code`` and ``state``, for ``msplex connector authorize``.

The browser sends one ``GET /callback?...`` and reads a short page; h11 (httpx's own HTTP/1.1
parser) reads the request, so nothing here parses HTTP by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from html import escape
from urllib.parse import parse_qsl, urlsplit

import h11

from msplex.connectors.manage import ConnectFailed

__all__ = ["receive_code"]

_DONE = "<!doctype html><title>MSPlex</title><p>Access granted. You can close this tab and return to the terminal."
_FAILED = "<!doctype html><title>MSPlex</title><p>The grant failed: {}. Return to the terminal."
_READ_TIMEOUT = 10.0

Codes = Callable[[str, float], Awaitable[str]]


async def _read_target(reader: asyncio.StreamReader, conn: h11.Connection) -> str | None:
    async with asyncio.timeout(_READ_TIMEOUT):
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(8192)
                conn.receive_data(data)
                if not data:
                    return None
                continue
            if isinstance(event, h11.Request):
                return bytes(event.target).decode("ascii", "replace")
            return None


@asynccontextmanager
async def receive_code(port: int = 0) -> AsyncIterator[tuple[str, Codes]]:
    """Yields the redirect URI and ``codes(state, wait)``, which returns the code of the redirect that
    carries ``state`` (``ConnectFailed`` for an error, or for no redirect within ``wait``)."""
    arrived: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            target = await _read_target(reader, conn)
            if target is None:
                return
            parts = urlsplit(target)
            query = dict(parse_qsl(parts.query)) if parts.path == "/callback" else {}
            if query:
                await arrived.put(query)
            failed = query.get("error")
            body = (_FAILED.format(escape(failed)) if failed else _DONE).encode()
            status = 200 if query else 404
            headers = [("content-type", "text/html; charset=utf-8"), ("content-length", str(len(body)))]
            writer.write(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
            writer.write(conn.send(h11.Data(data=body)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
        except (TimeoutError, h11.RemoteProtocolError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    try:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
    except OSError as exc:
        raise ConnectFailed(
            f"cannot listen on 127.0.0.1:{port} for the redirect ({exc.strerror})", "pick --port"
        ) from None
    bound = server.sockets[0].getsockname()[1]

    async def codes(state: str, wait: float) -> str:
        try:
            async with asyncio.timeout(wait):
                while True:
                    query = await arrived.get()
                    if not hmac.compare_digest(query.get("state", ""), state):
                        continue  # not our grant: keep waiting for ours
                    if query.get("error"):
                        detail = query.get("error_description") or query["error"]
                        raise ConnectFailed(f"the grant was refused ({detail[:200]})", "try again")
                    if not query.get("code"):
                        raise ConnectFailed("the redirect carried no code", "try again")
                    return query["code"]
        except TimeoutError:
            raise ConnectFailed(f"no grant arrived within {wait:g} s", "run the command again") from None

    try:
        yield f"http://127.0.0.1:{bound}/callback", codes
    finally:
        server.close()
        await server.wait_closed()
