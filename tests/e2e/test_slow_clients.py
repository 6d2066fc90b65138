"""Slow and surplus clients against a real ``msplex serve``: header and body deadlines, the connection cap.

The gateway runs with a 1 s header deadline, a 1 s body deadline and at most 20 connections, so
each case takes about a second; the cases of one test run concurrently.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from e2e_support import eventually

from support.gateway import GatewayProcess, open_legacy_session

DEADLINE = 1.0
CAP = 20
LATE = DEADLINE * 2.5
"""Later than any deadline enforcement should take, with room for a loaded machine."""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, str]]:
    """A gateway with small limits, and the token ``msplex serve`` printed for tenant ``demo``."""
    env = {
        "MSPLEX_HEADER_TIMEOUT_SECONDS": str(DEADLINE),
        "MSPLEX_BODY_TIMEOUT_SECONDS": str(DEADLINE),
        "MSPLEX_MAX_CONNECTIONS": str(CAP),
    }
    gw = GatewayProcess(Path(tmp_path_factory.mktemp("slow")) / "home", env=env)
    try:
        gw.start()
        token = re.search(r"Token \(shown once\): (\S+)", gw.log_text())
        assert token is not None, gw.log_text()
        yield gw, token.group(1)
    finally:
        gw.stop()


async def _open(gw: GatewayProcess) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", gw.port)


async def _until_closed(
    reader: asyncio.StreamReader, within: float = LATE, started: float | None = None
) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took since ``started``
    (default: now). A lower bound on that time must start before the connection opens: the server's
    deadline starts at accept, and a busy test loop may read only later."""
    started = time.monotonic() if started is None else started
    data = b""
    async with asyncio.timeout(within):
        while chunk := await reader.read(65536):
            data += chunk
    return data, time.monotonic() - started


async def _response(reader: asyncio.StreamReader) -> bytes:
    """One complete response with a Content-Length body, leaving the connection open."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LATE)
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    return head + await asyncio.wait_for(reader.readexactly(length), LATE)


async def _trickle(writer: asyncio.StreamWriter, data: bytes, every: float = 0.2) -> None:
    """Send ``data`` again every ``every`` seconds, as a slowloris client does, until the socket dies."""
    try:
        while not writer.is_closing():
            await asyncio.sleep(every)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass


def _healthz(gw: GatewayProcess) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\n\r\n".encode()


async def test_connections_beyond_the_cap_get_503_at_once(gateway: tuple[GatewayProcess, str]) -> None:
    gw, token = gateway
    held = []
    for _ in range(CAP):  # each proves it is served (and counted) by a kept-alive request
        reader, writer = await _open(gw)
        writer.write(_healthz(gw))
        assert (await _response(reader)).startswith(b"HTTP/1.1 200"), "a connection within the cap was refused"
        held.append((reader, writer))
    try:
        for _ in range(5):
            reader, writer = await _open(gw)
            writer.write(_healthz(gw))
            answer, took = await _until_closed(reader)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            assert re.search(rb"\r\nretry-after: \d+\r\n", answer, re.I), answer
            assert took < 0.5, f"the refusal took {took:.2f} s"
    finally:
        for _, writer in held:
            writer.close()
            await writer.wait_closed()

    async def served() -> bool:  # as soon as the gateway has seen the closes
        return gw.discover("demo", token) == 200

    async def logged() -> bool:
        return "beyond MSPLEX_MAX_CONNECTIONS" in gw.log_text()

    await eventually(served, within=1.0, what="serving again once slots were freed")
    await eventually(logged, within=2.0, what="logging the refusals")
    assert gw.log_text().count("beyond MSPLEX_MAX_CONNECTIONS") == 1, "five refusals, one log line"


async def test_slow_clients_are_cut_off_while_streams_live_on(gateway: tuple[GatewayProcess, str]) -> None:
    gw, token = gateway
    host = f"Host: 127.0.0.1:{gw.port}\r\n".encode()

    async def idle() -> None:
        opened = time.monotonic()
        reader, _ = await _open(gw)
        answer, took = await _until_closed(reader, started=opened)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert DEADLINE * 0.8 < took < LATE, took

    async def half_sent_headers() -> None:
        reader, writer = await _open(gw)
        writer.write(b"POST /mcp HTTP/1.1\r\n" + host)
        trickling = asyncio.create_task(_trickle(writer, b"X-Pad: 1\r\n"))
        answer, took = await _until_closed(reader)
        trickling.cancel()
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert took < LATE, f"trickled headers held the connection for {took:.2f} s"

    async def half_sent_body() -> None:
        opened = time.monotonic()
        reader, writer = await _open(gw)
        writer.write(
            b"POST /mcp/v1/demo HTTP/1.1\r\n" + host + b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"jsonrpc": "2.0",'
        )
        answer, took = await _until_closed(reader, started=opened)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"application/problem+json" in answer and b'"status":408' in answer, answer
        assert DEADLINE * 0.8 < took < LATE, took

    async def next_request_on_a_kept_alive_connection() -> None:
        reader, writer = await _open(gw)
        writer.write(_healthz(gw))
        assert (await _response(reader)).startswith(b"HTTP/1.1 200")
        writer.write(b"GET /healthz HTTP/1.1\r\n")  # and never the rest
        answer, took = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert took < LATE, took

    async def blank_lines_after_a_response() -> None:
        # each byte used to cancel uvicorn's keep-alive timeout without starting a request
        reader, writer = await _open(gw)
        writer.write(_healthz(gw))
        assert (await _response(reader)).startswith(b"HTTP/1.1 200")
        trickling = asyncio.create_task(_trickle(writer, b"\r\n"))
        _, took = await _until_closed(reader)
        trickling.cancel()
        assert took < LATE, took

    async def event_stream() -> None:
        async with httpx2.AsyncClient() as http:
            session = await open_legacy_session(http, gw.url("demo"), token)
        reader, writer = await _open(gw)
        writer.write(
            b"GET /mcp/v1/demo HTTP/1.1\r\n" + host + b"Accept: text/event-stream\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\nMcp-Session-Id: " + session.encode() + b"\r\n"
            b"MCP-Protocol-Version: 2025-11-25\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LATE)
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, head
        with pytest.raises(TimeoutError):  # the stream outlives every deadline: no EOF
            await _until_closed(reader, within=LATE)
        assert not reader.at_eof()
        writer.close()

    await asyncio.gather(
        idle(),
        half_sent_headers(),
        half_sent_body(),
        next_request_on_a_kept_alive_connection(),
        blank_lines_after_a_response(),
        event_stream(),
    )
    assert gw.discover("demo", token) == 200  # and ordinary requests still work
