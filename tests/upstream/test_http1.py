"""The lean HTTP/1.1 transport against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn

from msplex.upstream import _http1
from msplex.upstream._http1 import Client, UpstreamDisconnected
from support.gateway import free_port

PEERS: set[int] = set()


async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    PEERS.add(scope["client"][1])
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path == "/json":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"echo":' + (body or b"null") + b"}"})
    elif path == "/sse":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for i in range(3):
            await send({"type": "http.response.body", "body": b"data: %d\n\n" % i, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
    elif path == "/big":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        for _ in range(64):
            await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/headers":
        seen = {k.decode(): v.decode() for k, v in scope["headers"]}
        await send(
            {
                "type": "http.response.start",
                "status": 202,
                "headers": [(b"x-seen", seen.get("x-probe", "").encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
async def base() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_json_bodies_round_trip_over_one_kept_alive_connection(base: str) -> None:
    client = Client()
    PEERS.clear()
    for i in range(5):
        async with client.post(f"{base}/json", data=b"%d" % i, headers={"Content-Type": "application/json"}) as r:
            assert r.status == 200
            assert r.headers.get("Content-Type") == "application/json"
            assert await r.read() == b'{"echo":%d}' % i
    assert len(PEERS) == 1
    await client.close()


async def test_streamed_bodies_arrive_chunk_by_chunk(base: str) -> None:
    client = Client()
    r = await client.post(f"{base}/sse", data=b"{}")
    chunks = [c async for c in r.content.iter_any()]
    r.release()
    assert b"".join(chunks) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    await client.close()


async def test_headers_are_sent_and_empty_bodies_complete(base: str) -> None:
    client = Client()
    async with client.get(f"{base}/headers", headers={"X-Probe": "yes"}) as r:
        assert (r.status, r.headers.get("x-seen"), await r.read()) == (202, "yes", b"")
    await client.close()


async def test_header_injection_is_refused(base: str) -> None:
    client = Client()
    with pytest.raises(ValueError):
        await client.get(f"{base}/headers", headers={"X-Probe": "a\r\nX-Evil: 1"})
    await client.close()


async def test_an_unreachable_upstream_is_a_connection_error() -> None:
    client = Client(connect_timeout=2)
    with pytest.raises(UpstreamDisconnected) as info:
        await client.post(f"http://127.0.0.1:{free_port()}/json", data=b"{}")
    assert isinstance(info.value, OSError)
    await client.close()


async def test_a_response_larger_than_the_cap_is_refused(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http1, "MAX_BUFFERED", 16 * 1024)
    client = Client()
    response = await client.post(f"{base}/big", data=b"{}")
    with pytest.raises(UpstreamDisconnected, match="exceeds"):
        await response.read()
    response.release()
    async with client.post(f"{base}/json", data=b"1") as again:  # the client is still usable
        assert await again.read() == b'{"echo":1}'
    await client.close()
