"""A gateway with three tenants for the isolation and secret-handling probes.

* ``acme``: upstream ``ev`` (the fixture) registered with a secret ``Authorization``
  header, and ``mirror``: an upstream that answers 401 and reflects the credential it
  was sent in its body and headers (the worst case for leaks).
* ``beta``: upstream ``bev`` (the same fixture process under another name).
* ``open``: created with ``--allow-anonymous``; upstream ``oev``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from security_support import SECRET, Mirror, Tenants

from support.gateway import GatewayProcess, ServerProcess, start_all, stop_all


@pytest.fixture(scope="session")
async def mirror() -> AsyncIterator[Mirror]:
    state = Mirror()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "authorization":
                    state.seen.append(value.strip())
                if name.lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            auth = state.seen[-1] if state.seen else ""
            body = f'{{"error": "invalid credential {auth}"}}'.encode()
            writer.write(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                + f'WWW-Authenticate: Bearer error="invalid_token", error_description="{auth}"\r\n'.encode()
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    yield state
    server.close()


@pytest.fixture(scope="session")
def tenants(tmp_path_factory: pytest.TempPathFactory, mirror: Mirror) -> Iterator[Tenants]:
    base: Path = tmp_path_factory.mktemp("security")
    ev = ServerProcess.everything(base)
    gw = GatewayProcess(base / "home")
    try:
        ev.launch()
        header = f"Authorization: Bearer {SECRET}"
        out = gw.cli_batch(
            [
                ["tenant", "create", "acme"],
                ["tenant", "create", "beta"],
                ["tenant", "create", "open", "--allow-anonymous"],
                *(["tool", "enable", "*", "--tenant", t, "--kind", "all"] for t in ("acme", "beta")),
                ["tool", "enable", "*", "--tenant", "open", "--kind", "all", "--audience", "public,member", "--yes"],
                ["upstream", "add", "ev", "--tenant", "acme", "--url", ev.url, "--header", header],
                [
                    "upstream",
                    "add",
                    "mirror",
                    "--tenant",
                    "acme",
                    "--url",
                    f"http://127.0.0.1:{mirror.port}/mcp",
                    "--header",
                    header,
                ],
                ["upstream", "add", "bev", "--tenant", "beta", "--url", ev.url],
                ["upstream", "add", "oev", "--tenant", "open", "--url", ev.url],
                ["token", "create", "--tenant", "acme"],
                ["token", "create", "--tenant", "beta"],
            ]
        )
        acme, beta = (o["stdout"].strip().splitlines()[-1] for o in out[-2:])
        start_all(ev, gw)
        yield Tenants(gw, acme, beta, ev, mirror)
    finally:
        stop_all(gw, ev)
