"""``msplex`` as a real process: no tracebacks, and changes reach a running watcher."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from msplex.controlplane import ControlPlane
from msplex.settings import Settings
from msplex.store import ControlSnapshot, Store

Proc = Callable[..., subprocess.CompletedProcess[str]]


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def test_configuration_and_database_failures_are_one_line(msplex_proc: Proc) -> None:
    _assert_one_line_error(msplex_proc("status", env={"MSPLEX_PORT": "eighty"}), "MSPLEX_PORT")
    unreachable = "postgresql+asyncpg://msplex:hunter2@127.0.0.1:9/none"
    result = msplex_proc("tenant", "list", env={"MSPLEX_DATABASE_URL": unreachable})
    _assert_one_line_error(result, "cannot use the database", "MSPLEX_DATABASE_URL")
    assert "hunter2" not in result.stderr
    for url in ("not a url", "mysql+nodriver://u:hunter2@h/db"):
        result = msplex_proc("tenant", "list", env={"MSPLEX_DATABASE_URL": url})
        _assert_one_line_error(result, "MSPLEX_DATABASE_URL is not a usable database URL")
        assert "hunter2" not in result.stderr
    result = msplex_proc("tenant", "list", env={"MSPLEX_SECRET_KEY": "hunter2hunter2"})
    _assert_one_line_error(result, "MSPLEX_SECRET_KEY")
    assert "hunter2" not in result.stderr


def test_token_create_prints_the_token_as_the_last_line(msplex_proc: Proc) -> None:
    assert msplex_proc("tenant", "create", "acme").returncode == 0
    result = msplex_proc("token", "create", "--tenant", "acme")
    assert result.returncode == 0 and result.stdout.splitlines()[-1].startswith("mspx_")
    _assert_one_line_error(msplex_proc("token", "create", "--tenant", "nope"), "msplex tenant create nope")


async def test_a_cli_change_reaches_a_running_watcher_within_two_seconds(msplex_home: Path) -> None:
    store = Store.from_settings(Settings())
    await store.migrate()
    await store.create_tenant("acme")
    plane = ControlPlane(store)
    changed = asyncio.Event()

    async def on_change(snapshot: ControlSnapshot) -> None:
        if snapshot.tenants["acme"].id in snapshot.upstreams:
            changed.set()

    plane.on_change(on_change)
    await plane.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "msplex", "upstream", "add", "files", "--tenant", "acme",
            "--url", "http://127.0.0.1:9/mcp", env=dict(os.environ),
        )  # fmt: skip
        assert await proc.wait() == 0
        await asyncio.wait_for(changed.wait(), 2.0)
        (entry,) = plane.snapshot.upstreams_of(plane.snapshot.tenants["acme"].id)
        assert entry.spec.url == "http://127.0.0.1:9/mcp"
    finally:
        await plane.stop()
        await store.close()
