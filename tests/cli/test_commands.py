"""The ``msplex`` commands against a fresh home: output, masking, and one-line errors."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from msplex.settings import Settings
from msplex.store import Store, UpstreamHealth

Cli = Callable[..., Result]
TOKEN = re.compile(r"^mspx_[A-Za-z0-9_-]{40}$")


def _store_call(fn_name: str, *args: object, **kwargs: object) -> object:
    """Call a ``Store`` method on the same home the CLI uses, the way another process would."""

    async def go() -> object:
        store = Store.from_settings(Settings())
        try:
            await store.migrate()
            return await getattr(store, fn_name)(*args, **kwargs)
        finally:
            await store.close()

    return asyncio.run(go())


def test_a_fresh_home_just_works(cli: Cli, msplex_home: Path) -> None:
    result = cli("tenant", "list")
    assert result.exit_code == 0 and "No tenants yet." in result.stdout
    assert (msplex_home / "msplex.db").exists()
    result = cli("tenant", "create", "acme", "--name", "Acme Corp")
    assert result.exit_code == 0, result.stderr
    assert "http://127.0.0.1:8000/mcp/v1/acme" in result.stdout
    listing = cli("tenant", "list").stdout
    assert re.search(r"^acme\s+Acme Corp\s+no$", listing, re.M)


def test_upstream_add_list_remove_never_prints_header_values(cli: Cli) -> None:
    cli("tenant", "create", "acme")
    added = cli(
        "upstream", "add", "files", "--tenant", "acme", "--url", "http://127.0.0.1:9/mcp",
        "--header", "Authorization: Bearer s3cr3t-v4lue", "-H", "X-Org: 42",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert "files__<tool>" in added.stdout
    shell = cli("upstream", "add", "shell", "--tenant", "acme", "--command", "python -m srv 'two words'", "--no-prefix")
    # --no-prefix connects to check collisions; this command does not exist, so it is refused
    assert shell.exit_code == 2 and "no-prefix refused" in shell.stderr
    assert cli("upstream", "add", "shell", "--tenant", "acme", "--command", "python -m srv 'two words'").exit_code == 0
    listing = cli("upstream", "list", "--tenant", "acme")
    assert listing.exit_code == 0
    assert "s3cr3t" not in listing.stdout and "42" not in listing.stdout.split("files", 1)[1].split("\n")[0]
    assert "Authorization: ****, X-Org: ****" in listing.stdout
    assert "python -m srv 'two words'" in listing.stdout
    assert cli("upstream", "remove", "files", "--tenant", "acme").exit_code == 0
    assert "files" not in cli("upstream", "list", "--tenant", "acme").stdout


def test_token_create_prints_a_working_token_last(cli: Cli) -> None:
    cli("tenant", "create", "acme")
    result = cli("token", "create", "--tenant", "acme", "--name", "ci")
    assert result.exit_code == 0
    token = result.stdout.rstrip("\n").splitlines()[-1]
    assert TOKEN.match(token)
    snapshot = _store_call("load_snapshot")
    entry = snapshot.authenticate(token)  # type: ignore[attr-defined]
    assert entry is not None and entry.tenant_id == snapshot.tenants["acme"].id  # type: ignore[attr-defined]
    listing = cli("token", "list", "--tenant", "acme").stdout
    assert token[:12] in listing and token not in listing
    token_id = re.search(r"\(id ([0-9a-f-]{36})\)", result.stdout).group(1)  # type: ignore[union-attr]
    assert cli("token", "revoke", token_id, "--tenant", "acme").exit_code == 0
    assert _store_call("load_snapshot").authenticate(token) is None  # type: ignore[attr-defined]


def test_status_reports_plane_connectors_endpoints_calls_and_unhealthy(cli: Cli) -> None:
    cli("tenant", "create", "acme")
    cli("upstream", "add", "files", "--tenant", "acme", "--url", "http://127.0.0.1:9/mcp")
    text = cli("status").stdout
    assert "Control plane: stopped" in text
    assert "Current build: 1 connector across 1 tenant" in text
    assert "Endpoint: http://127.0.0.1:8000/mcp\n" in text
    assert "Endpoint: http://127.0.0.1:8000/mcp/v1/acme" in text
    assert "Tool calls routed: 0" in text
    tenant_id = _store_call("get_tenant", "acme").id  # type: ignore[attr-defined]
    health = [UpstreamHealth(tenant_id, "files", "unhealthy", "connection refused")]
    _store_call("heartbeat", "r1", "http://gw.example:8000", 1247, health)
    text = cli("status").stdout
    assert "Control plane: operational (1 replica)" in text
    assert "Endpoint: http://gw.example:8000/mcp/v1/acme" in text
    assert "Tool calls routed: 1,247" in text
    assert "Unhealthy: acme/files: connection refused" in text
    doc = json.loads(cli("status", "--json").stdout)
    assert doc["control_plane"] == "operational" and doc["connectors"] == 1
    assert doc["tool_calls_routed"] == 1247 and doc["tenants"] == ["acme"]
    assert doc["unhealthy"] == [{"tenant": "acme", "upstream": "files", "error": "connection refused", "replica": "r1"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tenant", "create", "Bad_Slug"], "invalid tenant slug"),
        (["upstream", "list", "--tenant", "nope"], "create it with: msplex tenant create nope"),
        (["upstream", "add", "x", "--tenant", "acme"], "exactly one of --url"),
        (["upstream", "add", "x", "--tenant", "acme", "--url", "http://a/", "--command", "srv"], "exactly one of"),
        (["upstream", "add", "x", "--tenant", "acme", "--url", "http://a/", "-H", "NoColon"], "'Name: value'"),
        (["upstream", "add", "x", "--tenant", "acme", "--command", "srv 'unclosed"], "check its quoting"),
        (["upstream", "add", "Bad_Name", "--tenant", "acme", "--url", "http://a/"], "invalid upstream name"),
        (["upstream", "add", "x", "--tenant", "acme", "--url", "http://u:pw@a/"], "pass them with --header"),
        (["upstream", "remove", "x", "--tenant", "acme"], "see: msplex upstream list --tenant acme"),
        (["token", "revoke", "x", "--tenant", "acme"], "token 'x' does not exist in tenant 'acme'"),
        (["tenant", "create", "acme"], "tenant 'acme' already exists"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_2(cli: Cli, args: list[str], message: str) -> None:
    cli("tenant", "create", "acme")
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_serve_bootstraps_a_demo_tenant_once(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Settings] = []
    server = types.ModuleType("msplex.server")
    server.run = lambda settings, sock: started.append(settings)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msplex.server", server)
    monkeypatch.setattr("msplex.httpserver.listen", lambda host, port: socket.socket())
    first = cli("serve")
    assert first.exit_code == 0, first.stderr
    assert "MCP endpoint: http://127.0.0.1:8000/mcp/v1/demo" in first.stdout
    token = re.search(r"Token \(shown once\): (\S+)", first.stdout).group(1)  # type: ignore[union-attr]
    assert _store_call("load_snapshot").authenticate(token) is not None  # type: ignore[attr-defined]
    second = cli("serve")
    assert second.exit_code == 0 and "Token" not in second.stdout
    assert "MCP endpoint: http://127.0.0.1:8000/mcp/v1/demo" in second.stdout
    assert len(started) == 2 and all(isinstance(s, Settings) for s in started)
    assert [t.slug for t in _store_call("list_tenants")] == ["demo"]  # type: ignore[attr-defined]


def test_upstream_secrets_come_from_stdin_or_a_file_not_the_command_line(cli: Cli, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from msplex.cli import app

    secret_file = tmp_path / "token"
    secret_file.write_text("file-s3cret-42\n")
    assert cli("tenant", "create", "acme").exit_code == 0
    added = CliRunner().invoke(
        app,
        ["upstream", "add", "sio", "-t", "acme", "--command", "srv --stdio", "--env", "API_TOKEN=-",
         "--env", f"OTHER=@{secret_file}"],
        input="stdin-s3cret-41\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    web = cli("upstream", "add", "web", "-t", "acme", "--url", "https://93.184.215.14/mcp",
              "-H", f"Authorization: @{secret_file}")  # fmt: skip
    assert web.exit_code == 0
    listed = cli("upstream", "list", "-t", "acme").stdout
    assert "$API_TOKEN=****" in listed and "$OTHER=****" in listed and "Authorization: ****" in listed
    assert "s3cret" not in listed
    wrong = cli("upstream", "add", "w2", "-t", "acme", "--url", "https://93.184.215.14/mcp", "--env", "A=b")
    assert wrong.exit_code == 2 and "--env is for a stdio upstream" in wrong.stderr
