"""``msplex connect halopsa`` as an operator runs it (real processes) against the Halo fake, then a real
``msplex serve`` on that home answering a real MCP client: the whole path a newcomer takes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import mcp_types as types
import pytest

from msplex.sandbox._server import serve_in_thread
from msplex.sandbox.halopsa import Application, HaloFake
from support.gateway import GatewayProcess, connect

SECRET = "halo-connect-secret-1618"
READER_SECRET = "halo-reader-secret-1414"


@pytest.fixture
def halo() -> Iterator[tuple[HaloFake, str]]:
    fake = HaloFake(
        applications=[
            Application("halo-client", SECRET),
            Application("reader", READER_SECRET, frozenset({"read:tickets"})),
        ]
    )
    server = serve_in_thread(fake.app)
    yield fake, server.url
    server.stop()


@pytest.fixture
def gw(msplex_home: Path) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(msplex_home)
    yield gateway
    gateway.stop()


def _connect(url: str, *extra: str) -> list[str]:
    return ["connect", "halopsa", "-t", "acme", "--base-url", url, "--tenant-name", "msplex", *extra]


async def test_connect_lists_halopsa_with_its_own_flags(gw: GatewayProcess) -> None:
    _, out, _ = await gw.acli("connect")
    assert "halopsa" in out and "--client-secret" in out and "--tenant-name" in out
    _, out, _ = await gw.acli("connect", "halopsa", "--help")
    assert all(flag in out for flag in ("--client-id", "--client-secret", "--tenant-name", "--scope", "--base-url"))


async def test_bad_credentials_are_reported_at_connect_with_the_fix(
    gw: GatewayProcess, halo: tuple[HaloFake, str]
) -> None:
    _, url = halo
    await gw.acli("tenant", "create", "acme")
    cases = [
        (["--client-id", "halo-client", "--client-secret", "not-the-secret-0000"], "rejected the client credentials"),
        (["--client-id", "reader", "--client-secret", READER_SECRET], "lacks a requested scope"),
        (["--client-id", "reader", "--client-secret", READER_SECRET, "--scope", "read:tickets"],
         "lacks the read:customers scope"),
    ]  # fmt: skip
    for extra, expected in cases:
        code, out, err = await gw.acli(*_connect(url, *extra), check=False)
        assert code == 2 and expected in err, (extra, err)
        assert "not-the-secret" not in out + err and READER_SECRET not in out + err
    code, _, err = await gw.acli(
        "connect", "halopsa", "-t", "acme", "--base-url", url, "--tenant-name", "nobody", "--client-id",
        "halo-client", "--client-secret", SECRET, check=False,
    )  # fmt: skip
    assert code == 2 and "unknown or missing tenant" in err and SECRET not in err
    _, out, _ = await gw.acli("connector", "list", "-t", "acme")
    assert "No connectors" in out


async def _with_stdin(gw: GatewayProcess, stdin: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "msplex", *args, env=gw.env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def _text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def test_a_connected_halo_serves_a_customer_bound_client_through_a_real_gateway(
    gw: GatewayProcess, halo: tuple[HaloFake, str]
) -> None:
    fake, url = halo
    gw.cli_batch(
        [
            ["tenant", "create", "acme"],
            ["customer", "create", "contoso", "-t", "acme", "--name", "Contoso Ltd"],
            ["customer", "create", "fabrikam", "-t", "acme", "--name", "Fabrikam Inc"],
        ]
    )
    code, out, err = await _with_stdin(
        gw, SECRET + "\n", *_connect(url, "--client-id", "halo-client", "--client-secret", "-", "--enable", "read-only")
    )
    assert code == 0, err
    assert "-> Gateway session ready" in out and "halopsa__search_tickets" in out and SECRET not in out + err
    _, out, _ = await gw.acli("customer", "discover", "-t", "acme", "--connector", "halopsa", "--apply")
    assert "Mapped 2" in out
    made = gw.cli_batch(
        [  # customers' own people are a separate audience: enabled for them on purpose
            [
                "tool",
                "enable",
                "halopsa__search_tickets",
                "halopsa__get_ticket",
                "-t",
                "acme",
                "--audience",
                "customer,member,admin",
            ],
            ["token", "create", "-t", "acme", "--role", "customer", "--customer", "fabrikam"],
            ["token", "create", "-t", "acme"],
        ]
    )
    fabrikam, member = (m["stdout"].strip().splitlines()[-1] for m in made[1:])
    gw.start()
    async with connect(gw.url("acme"), fabrikam, "2026-07-28") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"halopsa__search_tickets", "halopsa__get_ticket"} <= names and "halopsa__create_ticket" not in names
        own = await client.call_tool("halopsa__search_tickets", {"page_size": 100})
        assert not own.is_error and {t["client_id"] for t in own.structured_content["items"]} == {12}  # type: ignore[index]
        foreign = await client.call_tool("halopsa__get_ticket", {"id": 5001})
        assert foreign.is_error and _text(foreign) == "ticket 5001 not found"
    async with connect(gw.url("acme"), member) as client:  # a legacy-era client, the whole tenant
        second = await client.call_tool("halopsa__search_tickets", {"client_id": 11, "page_size": 50, "page": 2})
        assert not second.is_error and len(second.structured_content["items"]) == 10  # type: ignore[index]
    assert SECRET not in gw.log_text()
    assert fake.tokens_issued >= 1
