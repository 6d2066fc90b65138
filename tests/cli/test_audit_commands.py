"""``msplex audit tail|search|verify|export`` and ``msplex usage`` against a fresh home, and ``status``'s denials.

Records are written the way the gateway writes them (the group-commit writer on the same store), then
read back through the commands; ``verify`` is run on the intact chain and after an edit in SQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from msplex.audit.entry import AuditEntry
from msplex.audit.writer import AuditWriter
from msplex.cli.audit import parse_when
from msplex.settings import Settings
from msplex.store import Store

Cli = Callable[..., Result]
NOW = datetime.now(UTC).replace(microsecond=0)


def _write(slug: str, facts: list[dict[str, Any]]) -> None:
    async def go() -> None:
        store = Store.from_settings(Settings())
        await store.migrate()
        writer = AuditWriter(store)
        await writer.start()
        try:
            tenant = await store.get_tenant(slug)
            for n, extra in enumerate(facts):
                base: dict[str, Any] = dict(
                    tenant_id=tenant.id, at=NOW - timedelta(minutes=len(facts) - n), principal="token:k1",
                    audience="member", customer_id=None, customer=None, method="tools/call", kind="tool",
                    name="ev__echo", connector="ev", args_digest="m1.00.aa", stage="dispatch", decision="allow",
                    rule=None, approval_id=None, overage=False, outcome="ok", error_code=None, reason=None,
                    latency_us=2500, request_id=str(n),
                )  # fmt: skip
                await writer.write(AuditEntry(**(base | extra)))
        finally:
            await writer.close()
            await store.close()

    asyncio.run(go())


DENIED = dict(stage="check_approval", decision="deny", outcome="denied", error_code=-32042, reason="approval pending")


@pytest.fixture
def acme(cli: Cli) -> str:
    assert cli("tenant", "create", "acme").exit_code == 0
    _write(
        "acme",
        [
            {}, dict(customer="alpha", name="ev__add"), dict(DENIED, principal="token:k2"),
            dict(customer="alpha", overage=True), dict(outcome="error", error_code=-32603),
        ],
    )  # fmt: skip
    return "acme"


def test_tail_shows_the_newest_records_oldest_first(cli: Cli, acme: str) -> None:
    text = cli("audit", "tail", "--tenant", acme, "-n", "2").stdout
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["SEQ", "TIME"] and [line.split()[0] for line in lines[1:]] == ["4", "5"]
    assert "error -32603" in lines[2]
    as_json = [json.loads(line) for line in cli("audit", "tail", "--tenant", acme, "--json").stdout.splitlines()]
    assert [r["seq"] for r in as_json] == [1, 2, 3, 4, 5] and as_json[0]["hash"] == as_json[1]["prev_hash"]


def test_search_filters_by_principal_tool_customer_stage_outcome_and_time(cli: Cli, acme: str) -> None:
    def seqs(*args: str) -> list[int]:
        out = cli("audit", "search", "--tenant", acme, "--json", *args).stdout
        return [json.loads(line)["seq"] for line in out.splitlines()]

    assert seqs("--principal", "token:k2") == [3]
    assert seqs("--stage", "check_approval", "--outcome", "denied") == [3]
    assert seqs("--customer", "alpha") == [2, 4]
    assert seqs("--tool", "ev__a*") == [2]
    assert seqs("--since", (NOW - timedelta(seconds=150)).isoformat()) == [4, 5]
    assert seqs("--since", "1d") == [1, 2, 3, 4, 5]
    assert seqs("--until", (NOW - timedelta(minutes=3)).isoformat()) == [1, 2]
    assert "No audit records of tenant 'acme' match." in cli("audit", "search", "--tenant", acme, "--tool", "x").stdout


def test_verify_passes_then_names_an_altered_record(cli: Cli, acme: str, msplex_home: Path) -> None:
    ok = cli("audit", "verify", "--tenant", acme)
    assert ok.exit_code == 0 and "5 records, head seq 5: intact" in ok.stdout
    with sqlite3.connect(msplex_home / "msplex.db") as db:
        db.execute("UPDATE audit_records SET outcome = 'ok', error_code = NULL WHERE seq = 5")
    broken = cli("audit", "verify", "--tenant", acme)
    assert broken.exit_code == 1
    assert "record seq 5 was altered" in broken.stdout and "BROKEN: 1 finding in 5 records" in broken.stdout


def test_export_writes_json_lines_and_csv(cli: Cli, acme: str, tmp_path: Path) -> None:
    lines = cli("audit", "export", "--tenant", acme).stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5]
    target = tmp_path / "audit.csv"
    done = cli("audit", "export", "--tenant", acme, "--format", "csv", "--outcome", "denied", "-o", str(target))
    assert done.exit_code == 0 and "Exported 1 audit record of tenant 'acme'" in done.stdout
    [row] = list(csv.DictReader(io.StringIO(target.read_text())))
    assert (row["seq"], row["stage"], row["principal"], row["reason"]) == (
        "3",
        "check_approval",
        "token:k2",
        "approval pending",
    )


def test_usage_totals_groups_and_csv(cli: Cli, acme: str) -> None:
    text = cli("usage", "--tenant", acme).stdout
    header, total = text.splitlines()
    assert header.split()[:4] == ["TENANT", "CALLS", "OK", "DENIED"]
    assert total.split()[:4] == ["acme", "5", "3", "1"] and "check_approval: 1" in total
    groups = {r["key"]: r for r in json.loads(cli("usage", "--tenant", acme, "--by", "customer", "--json").stdout)}
    assert groups["alpha"]["calls"] == 2 and groups["alpha"]["overage"] == 1 and groups[""]["denied"] == 1
    rows = list(csv.DictReader(io.StringIO(cli("usage", "--tenant", acme, "--by", "principal", "--csv").stdout)))
    assert {r["principal"]: r["denied_by_stage"] for r in rows} == {"token:k1": "", "token:k2": "check_approval=1"}
    later = (NOW + timedelta(hours=2)).isoformat()  # counters are hourly: --since is taken to the hour
    assert cli("usage", "--tenant", acme, "--since", later).stdout.startswith("No usage recorded")


def test_status_counts_tool_calls_denied(cli: Cli, acme: str) -> None:
    assert "Tool calls denied: 1" in cli("status").stdout
    assert json.loads(cli("status", "--json").stdout)["tool_calls_denied"] == 1


def test_bad_input_is_one_line_with_the_fix(cli: Cli, acme: str) -> None:
    bad_time = cli("audit", "search", "--tenant", acme, "--since", "yesterday")
    assert bad_time.exit_code == 2 and "use ISO 8601" in bad_time.stderr and "Traceback" not in bad_time.stderr
    bad_by = cli("usage", "--tenant", acme, "--by", "colour")
    assert bad_by.exit_code == 2 and "--by must be one of customer, connector, tool, principal" in bad_by.stderr
    missing = cli("audit", "verify", "--tenant", "nobody")
    assert missing.exit_code == 2 and "tenant create nobody" in missing.stderr


def test_ages_and_iso_times_parse_to_utc() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert parse_when("90m", now=now) == datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    assert parse_when("2026-11-30T09:00", now=now) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert parse_when("2026-11-30T10:00+01:00", now=now) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert parse_when(None) is None
