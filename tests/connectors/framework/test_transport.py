"""The vendor transport (httpx's client over aiohttp's pool) against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import orjson
import pytest

from msplex.connectors.framework import VendorError, VendorHTTP
from msplex.connectors.framework.guard import public_only_transport
from msplex.connectors.framework.http import NoAuth
from msplex.connectors.framework.transport import AiohttpTransport

Reply = Callable[[bytes], Awaitable[bytes]]


async def _serve(reply: Reply) -> tuple[asyncio.Server, int, list[bytes]]:
    """A raw HTTP/1.1 server: hands each request's head and body to ``reply``; records every request."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lengths = [
                    int(h.split(b":")[1]) for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:")
                ]
                length = lengths[0] if lengths else 0
                request = head + (await reader.readexactly(length) if length else b"")
                seen.append(request)
                writer.write(await reply(request))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


def _response(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, list[bytes]]]:
    async def reply(request: bytes) -> bytes:
        line = request.split(b"\r\n", 1)[0].decode()
        if " /moved " in line:
            return _response("302 Found", b"", "Location: /elsewhere")
        if " /gzip " in line:
            packed = gzip.compress(b'{"packed": true}')
            return _response("200 OK", packed, "Content-Encoding: gzip", "Content-Type: application/json")
        if " /slow " in line:
            await asyncio.sleep(1)
        body = orjson.dumps({"line": line, "body": request.split(b"\r\n\r\n", 1)[1].decode()})
        return _response("200 OK", body, "Content-Type: application/json", "Set-Cookie: s=1", "X-Total: 7")

    server, port, seen = await _serve(reply)
    async with server:
        yield f"http://127.0.0.1:{port}", seen


async def test_requests_go_out_as_httpx_built_them_and_come_back_as_httpx_responses(
    echo: tuple[str, list[bytes]],
) -> None:
    url, seen = echo
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        got = await client.post(f"{url}/things", params={"a": "1 2"}, json={"x": 1}, headers={"X-Api-Key": "k"})
        await client.get(f"{url}/things")
        packed = await client.get(f"{url}/gzip")
        moved = await client.get(f"{url}/moved")
    assert got.status_code == 200 and got.headers["x-total"] == "7"
    assert got.json() == {"line": "POST /things?a=1+2 HTTP/1.1", "body": '{"x":1}'}
    assert b"x-api-key: k" in seen[0].lower() and b"content-type: application/json" in seen[0].lower()
    assert b"cookie: s=1" in seen[1].lower()  # httpx's cookie jar still works above the transport
    assert packed.json() == {"packed": True}  # decoded once, by httpx
    assert moved.status_code == 302 and moved.headers["location"] == "/elsewhere"  # the client decides on redirects
    assert len(seen) == 4


async def test_failures_are_httpx_errors_and_vendor_http_explains_them(echo: tuple[str, list[bytes]]) -> None:
    url, _ = echo
    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=httpx.Timeout(0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/slow")
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")
        http = VendorHTTP(client, "http://127.0.0.1:9", NoAuth(), vendor="Widgets")
        with pytest.raises(VendorError, match=r"cannot reach Widgets at 127\.0\.0\.1: connection refused"):
            await http.get("/x")
        slow = VendorHTTP(client, url, NoAuth(), vendor="Widgets")
        with pytest.raises(VendorError, match="did not answer in time"):
            await slow.get("/slow")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_public_only_transport_refuses_private_addresses_before_sending(
    echo: tuple[str, list[bytes]], host: str
) -> None:
    url, seen = echo
    port = url.rsplit(":", 1)[1]
    async with httpx.AsyncClient(transport=public_only_transport()) as client:
        http = VendorHTTP(client, f"http://{host}:{port}", NoAuth(), vendor="Widgets")
        with pytest.raises(VendorError, match="loopback"):
            await http.get("/things")
    assert seen == []


async def test_a_proxy_from_the_environment_carries_the_request(
    echo: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = echo

    async def proxy_reply(request: bytes) -> bytes:
        return _response("200 OK", orjson.dumps({"proxied": request.split(b"\r\n", 1)[0].decode()}))

    server, port, _ = await _serve(proxy_reply)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    async with server:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            got = await client.get(f"{url}/things")
        assert got.json() == {"proxied": f"GET {url}/things HTTP/1.1"}
        assert seen == []  # the origin was reached through the proxy only
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
            direct = await client.get(f"{url}/things")
        assert direct.json()["line"] == "GET /things HTTP/1.1" and len(seen) == 1
