"""One MCP client pointed at a tenant's branded entity endpoint sees exactly its effective tools, and
that brand: anonymously (public items only), with a personal access token of each audience, and with
an OIDC token from a local identity provider (a real HTTP server serving discovery and JWKS). What it
lists is what ``msplex tool effective`` says for the same identity and endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.gateway import GatewayProcess, ServerProcess, connect, start_all, stop_all
from support.idp import Idp

# "auto" probes ``server/discover`` on the wire, so a 2026-07-28 client reads the brand from the
# discover result's serverInfo stamp (a pinned modern client synthesizes its discover result).
MODES = ["legacy", "auto"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, Idp, dict[str, str]]]:
    base: Path = tmp_path_factory.mktemp("entity")
    with Idp() as idp:
        upstream = ServerProcess.everything(base)
        gw = GatewayProcess(base / "home", env={"MSPLEX_OIDC_ISSUER": idp.issuer, "MSPLEX_OIDC_AUDIENCE": "msplex"})
        try:
            upstream.launch()
            out = gw.cli_batch(
                [
                    ["tenant", "create", "acme"],
                    ["customer", "create", "alpha", "--tenant", "acme"],
                    ["upstream", "add", "ev", "--tenant", "acme", "--url", upstream.url],
                    ["tool", "enable", "ev__*", "--tenant", "acme"],
                    ["tool", "enable", "ev__pid", "--tenant", "acme", "--audience", "admin"],
                    [
                        "tool",
                        "enable",
                        "ev__echo",
                        "--tenant",
                        "acme",
                        "--audience",
                        "public,customer,member,admin",
                        "--yes",
                    ],
                    ["tool", "enable", "ev__env", "--tenant", "acme", "--audience", "customer,member,admin"],
                    [
                        "entity",
                        "create",
                        "desk",
                        "--tenant",
                        "acme",
                        "--name",
                        "Acme Desk",
                        "--title",
                        "Acme Service Desk",
                        "--description",
                        "Ask Acme's service desk",
                        "--icon-url",
                        "https://acme.example/desk.png",
                        "--website-url",
                        "https://acme.example",
                        "--support-url",
                        "https://acme.example/help",
                        "--allow-anonymous",
                    ],
                    [
                        "entity",
                        "tools",
                        "desk",
                        "--tenant",
                        "acme",
                        "--add",
                        "ev__echo",
                        "--add",
                        "ev__env",
                        "--add",
                        "ev__pid",
                        "--add",
                        "ev__slow",
                    ],
                    ["token", "create", "--tenant", "acme", "--role", "admin", "--name", "admin"],
                    ["token", "create", "--tenant", "acme", "--role", "member", "--name", "member"],
                    [
                        "token",
                        "create",
                        "--tenant",
                        "acme",
                        "--role",
                        "customer",
                        "--customer",
                        "alpha",
                        "--name",
                        "customer",
                    ],
                ]
            )
            tokens = {r["args"][-1]: r["stdout"].strip().splitlines()[-1] for r in out[-3:]}
            ids = {r["args"][-1]: re.findall(r"\(id ([^)]+)\)", r["stdout"])[0] for r in out[-3:]}
            start_all(upstream, gw)
            yield gw, idp, {**tokens, **{f"{k}-id": v for k, v in ids.items()}}
        finally:
            stop_all(gw, upstream)


def _effective(gw: GatewayProcess, *how: str) -> list[str]:
    out = gw.cli("tool", "effective", "--tenant", "acme", "--entity", "desk", *how).stdout
    return sorted(line.split()[1] for line in out.splitlines()[1:] if line.startswith("tool "))


@pytest.mark.parametrize("mode", MODES)
async def test_one_client_sees_the_brand_and_exactly_its_effective_tools(
    desk: tuple[GatewayProcess, Idp, dict[str, str]], mode: str
) -> None:
    gw, idp, tokens = desk
    url = gw.url().replace("/mcp", "/mcp/entities/desk")
    identities = {
        "anonymous": (None, ("--anonymous",)),
        "customer": (tokens["customer"], ("--token-id", tokens["customer-id"])),
        "member": (tokens["member"], ("--token-id", tokens["member-id"])),
        "admin": (tokens["admin"], ("--token-id", tokens["admin-id"])),
        "oidc member": (idp.mint({"msplex_tenant": "acme"}), ("--subject", "someone", "--role", "member")),
    }
    seen: dict[str, list[str]] = {}
    for name, (token, how) in identities.items():
        async with connect(url, token, mode) as client:
            info = client.server_info
            assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25"), name
            seen[name] = sorted(t.name for t in (await client.list_tools()).tools)
            assert info is not None and info.name == "Acme Desk" and info.title == "Acme Service Desk", name
            assert seen[name] == _effective(gw, *how), name
    assert seen["anonymous"] == ["ev__echo"]
    assert seen["customer"] == ["ev__echo", "ev__env"]
    assert seen["member"] == seen["oidc member"] == ["ev__echo", "ev__env", "ev__slow"]
    assert seen["admin"] == ["ev__echo", "ev__env", "ev__pid", "ev__slow"]
