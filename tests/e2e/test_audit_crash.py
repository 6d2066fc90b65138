"""Audit durability: ``kill -9`` the gateway under concurrent ``tools/call`` load, restart it, and find an
audit record for every response a client received (a response never leaves before its record commits).

Each call carries a unique argument, so a received response is matched to its record by the keyed digest
of its arguments, computed here with the gateway's key. Before the kill, another process holds the SQLite
write lock for a second (as a backup or a long CLI write would): records cannot commit then, so a gateway
that answered before its records were durable would deliver responses whose records die with it. The
chain still verifies after the crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
from pathlib import Path

from e2e_support import text_of

from msplex.audit.entry import digest_arguments
from msplex.crypto import Keyring
from msplex.settings import Settings
from support.gateway import GatewayProcess, ServerProcess, connect, start_all, stop_all

CLIENTS = 6
IN_FLIGHT = 4
KILL_AFTER = 300


async def test_every_received_response_has_its_audit_record_after_kill_9(tmp_path: Path) -> None:
    upstream = ServerProcess.everything(tmp_path)
    gateway = GatewayProcess(tmp_path / "home")
    out = gateway.cli_batch(
        [
            ["tenant", "create", "crash"],
            ["tool", "enable", "*", "--tenant", "crash"],
            ["upstream", "add", "ev", "--tenant", "crash", "--url", upstream.url],
            ["token", "create", "--tenant", "crash"],
        ]
    )
    token = out[-1]["stdout"].strip().splitlines()[-1]
    start_all(upstream, gateway)
    received: list[str] = []
    enough = asyncio.Event()
    try:

        async def worker(client: object, name: str) -> None:
            n = 0
            while True:
                text = f"{name}-{n}"
                result = await client.call_tool("ev__echo", {"text": text})  # type: ignore[attr-defined]
                assert text_of(result) == text
                received.append(text)
                if len(received) >= KILL_AFTER:
                    enough.set()
                n += 1

        async def client_load(c: int) -> None:
            mode = "legacy" if c % 2 else "2026-07-28"
            with contextlib.suppress(Exception):
                async with connect(gateway.url("crash"), token, mode) as client:
                    await asyncio.gather(*(worker(client, f"c{c}w{w}") for w in range(IN_FLIGHT)))

        load = [asyncio.ensure_future(client_load(c)) for c in range(CLIENTS)]
        await asyncio.wait_for(enough.wait(), 60)
        lock = await asyncio.to_thread(_write_lock, gateway.home / "msplex.db")
        try:
            await asyncio.sleep(1.0)
            assert gateway.proc is not None
            os.kill(gateway.proc.pid, signal.SIGKILL)  # mid-load: calls are in flight on every client
            gateway.proc.wait(10)
        finally:
            lock.rollback()
            lock.close()
        _, pending = await asyncio.wait(load, timeout=60)
        for task in pending:
            task.cancel()
        answered = list(received)  # nothing arrives from a dead process: this is every response received
        gateway.start()  # the same home: the store after the crash
        export = gateway.cli("audit", "export", "--tenant", "crash").stdout
        verified = gateway.cli("audit", "verify", "--tenant", "crash", check=False)
    finally:
        stop_all(gateway, upstream)
    records = [json.loads(line) for line in export.splitlines()]
    keyring = Keyring.load(Settings(home=gateway.home, secret_key=gateway.secret_key))
    recorded = {r["args_digest"] for r in records if r["outcome"] == "ok" and r["name"] == "ev__echo"}
    missing = [t for t in answered if digest_arguments(keyring, {"text": t}) not in recorded]
    assert len(answered) >= KILL_AFTER and not missing, f"{len(missing)} responses without a record: {missing[:5]}"
    assert verified.returncode == 0, verified.stdout


def _write_lock(path: Path) -> sqlite3.Connection:
    """Another process's write transaction on the gateway's database (held until rolled back)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    db.execute("BEGIN IMMEDIATE")
    return db
