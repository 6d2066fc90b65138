"""Failure mapping: every upstream fault is an UpstreamError subclass, and no message carries a secret."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from upstream_servers import free_port

from msplex.upstream import (
    HttpSession,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamSpec,
    UpstreamUnavailable,
)

SECRET = "Bearer sk-live-0123456789abcdef"


async def _bad(request: web.Request) -> web.StreamResponse:
    mode = request.match_info["mode"]
    if mode == "garbage":
        return web.Response(body=b"{not json", content_type="application/json")
    if mode == "notrpc":
        return web.Response(body=b'{"jsonrpc":"2.0","id":1}', content_type="application/json")
    if mode == "html":
        return web.Response(text="<html>login</html>", content_type="text/html")
    if mode == "unauthorized":
        return web.Response(status=401, text="no")
    if mode == "boom":
        return web.Response(status=503, text="down")
    if mode == "sse-garbage":
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b"event: message\ndata: {broken\n\n")
        await resp.write_eof()
        return resp
    if mode == "sse-cut":
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b": keep-alive\n\n")
        await resp.write_eof()
        return resp
    raise web.HTTPNotFound


@pytest.fixture(scope="module")
async def bad_upstream() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{mode}", _bad)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _spec(url: str) -> UpstreamSpec:
    return UpstreamSpec("t", "bad", "http", url=url)


async def _credentials() -> dict[str, str]:
    return {"Authorization": SECRET}


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("garbage", UpstreamProtocolError),
        ("notrpc", UpstreamProtocolError),
        ("html", UpstreamProtocolError),
        ("unauthorized", UpstreamUnavailable),
        ("boom", UpstreamUnavailable),
        ("sse-garbage", UpstreamProtocolError),
        ("sse-cut", UpstreamUnavailable),
    ],
)
async def test_bad_answers_map_to_typed_errors_without_secrets(
    bad_upstream: str, mode: str, error: type[UpstreamError]
) -> None:
    s = HttpSession(_spec(f"{bad_upstream}/{mode}"), era="legacy", headers=_credentials)
    try:
        with pytest.raises(error) as info:
            await s.start()
    finally:
        await s.close()
    assert "sk-live" not in str(info.value) and "Bearer" not in str(info.value)


async def test_unreachable_upstream_is_unavailable() -> None:
    s = HttpSession(_spec(f"http://127.0.0.1:{free_port()}/mcp?token=sk-live-query"), headers=_credentials)
    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await s.request("tools/list")
    finally:
        await s.close()
    assert "sk-live" not in str(info.value)
