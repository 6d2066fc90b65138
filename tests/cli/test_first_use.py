"""What a new user meets first: hints they can paste, readable help, --version, the printed token
prefix, a busy port, the debug log, and the status summary."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from msplex import __version__
from msplex.cli._run import msplex_program
from msplex.httpserver import DATABASE_LOGGERS, configure_logging
from msplex.settings import Settings
from msplex.store import Store
from support.gateway import GatewayProcess

Cli = Callable[..., Result]
Proc = Callable[..., subprocess.CompletedProcess[str]]
CONSOLE_SCRIPT = Path(sys.executable).parent / "msplex"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def _store_call(fn_name: str, *args: object) -> object:
    async def go() -> object:
        store = Store.from_settings(Settings())
        try:
            await store.migrate()
            return await getattr(store, fn_name)(*args)
        finally:
            await store.close()

    return asyncio.run(go())


def _fake_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``msplex serve`` without serving: the store is prepared, then nothing listens."""
    server = types.ModuleType("msplex.server")
    server.run = lambda settings, sock: sock.close()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msplex.server", server)
    monkeypatch.setattr("msplex.httpserver.listen", lambda host, port: socket.socket())


def test_the_program_is_named_as_the_user_can_run_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / ".venv" / "bin" / "msplex"
    other = tmp_path / "elsewhere" / "msplex"
    for path in (script, other):
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "serve"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert msplex_program() == ".venv/bin/msplex"  # `make run` with no venv activated
    monkeypatch.setenv("PATH", str(script.parent))
    assert msplex_program() == "msplex"
    monkeypatch.setenv("PATH", str(other.parent))  # some other msplex comes first
    assert msplex_program() == ".venv/bin/msplex"
    monkeypatch.chdir(other.parent)
    assert msplex_program() == str(script)


@pytest.mark.skipif(not CONSOLE_SCRIPT.is_file(), reason="no msplex console script beside this interpreter")
def test_every_hint_names_the_program_as_the_user_can_run_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    program = str(CONSOLE_SCRIPT)
    _fake_server(monkeypatch)
    assert f"Add an upstream: {program} upstream add NAME --tenant demo" in cli("serve").stdout
    assert f"Next: {program} token create --tenant acme" in cli("tenant", "create", "acme").stdout
    assert f"Add one: {program} upstream add NAME -t acme" in cli("upstream", "list", "-t", "acme").stdout
    assert f"start: {program} serve" in cli("status").stdout
    assert f"create it with: {program} tenant create nope" in cli("upstream", "list", "-t", "nope").stderr
    assert f"see: {program} tenant list" in cli("tenant", "create", "acme").stderr
    assert f"see: {program} token list --tenant acme" in cli("token", "revoke", "x", "-t", "acme").stderr


@pytest.mark.skipif(not CONSOLE_SCRIPT.is_file(), reason="no msplex console script beside this interpreter")
def test_make_run_hints_name_the_venv_script(msplex_home: Path) -> None:
    """What ``make run`` does: ``.venv/bin/msplex`` from the directory holding the venv, not activated."""
    venv = CONSOLE_SCRIPT.parent.parent
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != CONSOLE_SCRIPT.parent)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT.relative_to(venv.parent)), "tenant", "create", "acme"],
        cwd=venv.parent,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"Next: {venv.name}/bin/msplex token create --tenant acme" in done.stdout


COMMANDS = [
    [],
    ["serve"],
    ["status"],
    ["tenant"],
    ["tenant", "create"],
    ["tenant", "list"],
    ["upstream"],
    ["upstream", "add"],
    ["upstream", "list"],
    ["upstream", "remove"],
    ["token"],
    ["token", "create"],
    ["token", "list"],
    ["token", "revoke"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "msplex")
def test_help_shows_metavars_not_python_types(cli: Cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.stderr
    for python_type in ("<str>", "<bool>", "<list", "<int>", "<float>"):
        assert python_type not in result.stdout, result.stdout


def test_help_of_upstream_add_reads_conventionally(cli: Cli) -> None:
    text = cli("upstream", "add", "--help").stdout
    for metavar in ("NAME", "SLUG", "URL", "'CMD ARGS'", "'NAME: VALUE'"):
        assert metavar in text, text
    assert re.search(r"--no-prefix\s+Keep", text), text  # nothing between a flag and its help


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"msplex {__version__}\n"


@pytest.mark.parametrize("ellipsis", ["…", "..."])
def test_token_revoke_takes_the_prefix_as_token_list_prints_it(cli: Cli, ellipsis: str) -> None:
    cli("tenant", "create", "acme")
    token = cli("token", "create", "--tenant", "acme").stdout.splitlines()[-1]
    listing = cli("token", "list", "--tenant", "acme").stdout
    printed = re.search(r"\s(mspx_\S*…)\s", listing)
    assert printed is not None, listing
    result = cli("token", "revoke", printed.group(1).replace("…", ellipsis), "--tenant", "acme")
    assert result.exit_code == 0, result.stderr
    assert _store_call("load_snapshot").authenticate(token) is None  # type: ignore[attr-defined]
    assert re.search(r"\srevoked$", cli("token", "list", "--tenant", "acme").stdout, re.M)


def test_serve_on_a_busy_port_is_one_line_and_creates_nothing(cli: Cli, msplex_proc: Proc) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = msplex_proc("serve", env={"MSPLEX_PORT": str(port)})
    assert result.returncode == 2, result
    assert "Token" not in result.stdout and "mspx_" not in result.stdout, result.stdout
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port} (address already in use); "
        "stop the other process or set MSPLEX_PORT\n"
    )
    assert "No tenants yet." in cli("tenant", "list").stdout


def test_debug_log_is_timestamped_and_quiet_about_the_database(msplex_proc: Proc) -> None:
    debug = msplex_proc("tenant", "list", env={"MSPLEX_LOG_LEVEL": "debug"})
    assert debug.returncode == 0, debug.stderr
    lines = debug.stderr.splitlines()
    assert lines and all(TIMESTAMP.match(line) for line in lines), debug.stderr
    assert not re.search(r" (DEBUG|INFO) (sqlalchemy|aiosqlite|asyncpg|alembic)", debug.stderr), debug.stderr


def test_log_sql_lets_the_database_loggers_through(msplex_home: Path) -> None:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in DATABASE_LOGGERS)]
    levels = [logger.level for logger in loggers]
    try:
        configure_logging(Settings(log_level="debug"))
        assert all(logging.getLogger(name).getEffectiveLevel() == logging.WARNING for name in DATABASE_LOGGERS)
        configure_logging(Settings(log_level="debug", log_sql=True))
        assert logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def test_served_debug_log_is_timestamped_and_quiet_about_the_database(msplex_home: Path) -> None:
    gw = GatewayProcess(msplex_home, env={"MSPLEX_LOG_LEVEL": "debug"})
    try:
        gw.start()
    finally:
        gw.stop()
    log = [line for line in gw.log_text().splitlines() if " DEBUG " in line or " INFO " in line]
    assert any("uvicorn" in line for line in log) and any("msplex.server" in line for line in log), log
    assert all(TIMESTAMP.match(line) for line in log), log
    assert not any(re.search(r" (sqlalchemy|aiosqlite|asyncpg|alembic)", line) for line in log), log


def test_status_counts_the_tenants_that_have_connectors(cli: Cli) -> None:
    for slug in ("acme", "beta", "idle"):
        cli("tenant", "create", slug)
    for name, tenant in (("files", "acme"), ("mail", "acme"), ("files", "beta")):
        cli("upstream", "add", name, "--tenant", tenant, "--url", "http://127.0.0.1:9/mcp")
    assert "Current build: 3 connectors across 2 tenants" in cli("status").stdout
