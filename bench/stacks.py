"""Why the protocol edge and the upstream client are what they are: the measurement.

    .venv/bin/python -m bench.stacks [--requests N]

Part 1 (server side): the same raw ASGI callable (read the body, parse it,
answer a small JSON-RPC result) served by uvicorn with httptools, uvicorn
with h11 and, if installed, granian; the load comes from another process over
8 keep-alive connections and the server process's CPU per request is read
from ``/proc``.

Part 2 (client side): N JSON POSTs over 8 keep-alive connections to one
uvicorn+httptools server, issued by MSPlex's ``_http1`` client, aiohttp and
httpx2; this process's CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.procs import free_port

BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":1}}}'
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
CONNECTIONS = 8

APP = """
import orjson
REPLY = orjson.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "ok"}]}})
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    orjson.loads(body)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": REPLY})
"""


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _drive(post: Callable[[], Awaitable[None]], n: int) -> None:
    async def worker(count: int) -> None:
        for _ in range(count):
            await post()

    await asyncio.gather(*(worker(n // CONNECTIONS) for _ in range(CONNECTIONS)))


async def _http1_poster(url: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    from msplex.upstream._http1 import Client

    client = Client()

    async def post() -> None:
        async with client.post(url, data=BODY, headers=HEADERS) as response:
            await response.read()

    return post, client.close


async def _aiohttp_poster(url: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, skip_auto_headers=("User-Agent",)
    )

    async def post() -> None:
        async with session.post(url, data=BODY, headers=HEADERS) as response:
            await response.read()

    return post, session.close


async def _httpx2_poster(url: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    import httpx2

    client = httpx2.AsyncClient()

    async def post() -> None:
        response = await client.post(url, content=BODY, headers=HEADERS)
        response.read()

    return post, client.aclose


CLIENTS = {"msplex _http1": _http1_poster, "aiohttp": _aiohttp_poster, "httpx2": _httpx2_poster}


def _client_cpu(url: str, name: str, n: int) -> float:
    async def main() -> float:
        post, close = await CLIENTS[name](url)
        try:
            await _drive(post, 400)
            start = _self_cpu()
            await _drive(post, n)
            return (_self_cpu() - start) / n * 1e6
        finally:
            await close()

    import uvloop

    return uvloop.run(main())


def _serve(kind: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    python = sys.executable
    if kind == "granian":
        argv = [python, "-m", "granian", "--interface", "asgi", "--port", str(port), "--workers", "1"]
        argv += ["--log-level", "warning", "stack_app:app"]
    else:
        http = "httptools" if kind == "uvicorn+httptools" else "h11"
        argv = [python, "-m", "uvicorn", "stack_app:app", "--port", str(port), "--http", http, "--loop", "uvloop"]
        argv += ["--log-level", "warning", "--no-access-log", "--lifespan", "off"]
    return subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=8000)
    n = parser.parse_args().requests
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"msplex-stacks-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "stack_app.py").write_text(APP)
    servers = ["uvicorn+httptools", "uvicorn+h11"]
    if importlib.util.find_spec("granian") is not None:
        servers.append("granian")
    print(f"server CPU per request ({n} requests, {CONNECTIONS} connections, load from another process)")
    for kind in servers:
        port = free_port()
        proc = _serve(kind, port, workdir)
        try:
            _wait_port(port, timeout=20)
            before = _cpu_of(proc.pid)
            loader = [sys.executable, "-m", "bench.stacks_load", f"http://127.0.0.1:{port}/", str(n)]
            subprocess.run(loader, check=True, cwd=Path(__file__).resolve().parents[1])
            spent = _cpu_of(proc.pid) - before
            print(f"  {kind:20} {spent / n * 1e6:7.0f} µs")
        finally:
            proc.terminate()
            proc.wait(10)
    port = free_port()
    proc = _serve("uvicorn+httptools", port, workdir)
    try:
        _wait_port(port, timeout=20)
        print(f"client CPU per request ({n} POSTs, {CONNECTIONS} connections, uvloop)")
        for name in CLIENTS:
            started = time.perf_counter()
            cpu = _client_cpu(f"http://127.0.0.1:{port}/", name, n)
            print(f"  {name:20} {cpu:7.0f} µs   ({time.perf_counter() - started:.1f} s)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
