"""``msplex audit tail|search|verify|export`` and ``msplex usage``: the audit log and metering of a tenant.

Times (``--since``, ``--until``) are ISO 8601 (``2026-11-30``, ``2026-11-30T09:00``, UTC unless
they say otherwise) or an age (``30m``, ``12h``, ``7d``, ``2w``). ``verify`` exits 1 when the chain is
broken, after naming each record that was altered, removed, inserted or reordered.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer

from msplex.audit.export import csv_lines, jsonl_lines, usage_dict, usage_rows_csv
from msplex.audit.verify import verify_chain
from msplex.cli._run import CliError, fail, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.settings import Settings
from msplex.store import Store
from msplex.store.audit import USAGE_DIMENSIONS, AuditQuery, AuditRecord

__all__ = ["app", "parse_when", "usage"]

app = group("The audit log: every call and refusal, hash-chained per tenant.")

_AGE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

SinceOpt = Annotated[str | None, typer.Option("--since", help="From this time or age (30m, 7d, 2026-11-30).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Before this time or age.")]
PrincipalOpt = Annotated[str | None, typer.Option("--principal", help="A principal key (token:ID, oidc:...).")]
ToolOpt = Annotated[str | None, typer.Option("--tool", help="The tool, prompt or URI (* wildcards).")]
CustomerOpt = Annotated[str | None, typer.Option("--customer", help="A customer slug.")]
StageOpt = Annotated[str | None, typer.Option("--stage", help="The stage reached (authenticate, dispatch, ...).")]
OutcomeOpt = Annotated[str | None, typer.Option("--outcome", help="ok, tool_error, error, denied, held or cancelled.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")]


def parse_when(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 time (UTC unless it names an offset) or an age such as ``7d`` before ``now``."""
    if text is None:
        return None
    value = text.strip()
    if match := _AGE.match(value):
        amount, unit = int(match[1]), _UNITS[match[2]]
        return (now or datetime.now(UTC)) - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"'{text}' is not a time; use ISO 8601 (2026-11-30T09:00) or an age (30m, 12h, 7d)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _query(
    principal: str | None,
    tool: str | None,
    customer: str | None,
    stage: str | None,
    outcome: str | None,
    since: str | None,
    until: str | None,
) -> AuditQuery:
    return AuditQuery(principal, tool, customer, stage, outcome, parse_when(since), parse_when(until))


def _rows(records: list[AuditRecord]) -> list[list[str]]:
    rows = []
    for r in records:
        e = r.entry
        what = f"{e.method} {e.name}" if e.name else e.method
        outcome = f"{e.outcome} {e.error_code}" if e.error_code is not None else e.outcome
        rows.append(
            [str(r.seq), f"{e.at:%Y-%m-%d %H:%M:%S}", e.principal, e.customer or "-", what, e.stage, outcome,
             e.rule or "-", f"{e.latency_us / 1000:.1f}"]
        )  # fmt: skip
    return rows


def _show(records: list[AuditRecord], as_json: bool, empty: str) -> None:
    if as_json:
        sys.stdout.writelines(jsonl_lines(records))
    elif records:
        header = ["SEQ", "TIME (UTC)", "PRINCIPAL", "CUSTOMER", "CALL", "STAGE", "OUTCOME", "RULE", "MS"]
        typer.echo(table(_rows(records), header))
    else:
        typer.echo(empty)


@app.command("tail", cls=Command)
def audit_tail(
    tenant: TenantOpt,
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many records.")] = 20,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing new records.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The newest records of a tenant, oldest first (with --follow, new ones as they are written)."""

    async def go(store: Store, settings: Settings) -> None:
        audit = store.tenant(tenant).audit
        records = list(reversed(await audit.search(limit=lines)))
        _show(records, as_json, f"No audit records in tenant '{tenant}' yet.")
        last = records[-1].seq if records else 0
        while follow:
            await asyncio.sleep(1.0)
            fresh = list(reversed(await audit.search(limit=1000)))
            fresh = [r for r in fresh if r.seq > last]
            if fresh:
                if as_json:
                    sys.stdout.writelines(jsonl_lines(fresh))
                else:
                    typer.echo("\n".join("  ".join(row) for row in _rows(fresh)))
                sys.stdout.flush()
                last = fresh[-1].seq

    run_with_store(go)


@app.command("search", cls=Command)
def audit_search(
    tenant: TenantOpt,
    principal: PrincipalOpt = None,
    tool: ToolOpt = None,
    customer: CustomerOpt = None,
    stage: StageOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many records (newest).")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Records matching every filter given, newest last."""

    async def go(store: Store, settings: Settings) -> None:
        query = _query(principal, tool, customer, stage, outcome, since, until)
        records = list(reversed(await store.tenant(tenant).audit.search(query, limit=limit)))
        _show(records, as_json, f"No audit records of tenant '{tenant}' match.")

    run_with_store(go)


@app.command("verify", cls=Command)
def audit_verify(tenant: TenantOpt) -> None:
    """Check the tenant's whole chain; name every altered, removed, inserted or reordered record (exit 1)."""

    async def go(store: Store, settings: Settings) -> bool:
        head, links = await store.tenant(tenant).audit.chain()
        verdict = verify_chain(head, links)
        head_text = f"head seq {verdict.head_seq}" if verdict.head_seq is not None else "no head"
        if verdict.ok:
            typer.echo(f"Audit chain of tenant '{tenant}': {verdict.records} records, {head_text}: intact.")
            return True
        for finding in verdict.findings:
            typer.echo(f"{finding.kind:<10} {finding.message}")
        count = len(verdict.findings)
        typer.echo(
            f"Audit chain of tenant '{tenant}' is BROKEN: {count} finding{'s' if count != 1 else ''} "
            f"in {verdict.records} records ({head_text})."
        )
        return False

    if not run_with_store(go):
        raise typer.Exit(1)


@app.command("export", cls=Command)
def audit_export(
    tenant: TenantOpt,
    fmt: Annotated[Literal["jsonl", "csv"], typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    principal: PrincipalOpt = None,
    tool: ToolOpt = None,
    customer: CustomerOpt = None,
    stage: StageOpt = None,
    outcome: OutcomeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Every matching record, oldest first, with its chain links (hash, prev_hash)."""

    async def go(store: Store, settings: Settings) -> int:
        query = _query(principal, tool, customer, stage, outcome, since, until)
        records = store.tenant(tenant).audit.records(query)
        out = output.open("w", encoding="utf-8", newline="") if output is not None else sys.stdout
        count = 0
        try:
            if fmt == "csv":
                async for line in csv_lines(records):
                    out.write(line)
                    count += 1
                count -= 1
            else:
                async for record in records:
                    out.writelines(jsonl_lines([record]))
                    count += 1
        finally:
            if output is not None:
                out.close()
        return count

    count = run_with_store(go)
    if output is not None:
        typer.echo(f"Exported {count} audit record{'s' if count != 1 else ''} of tenant '{tenant}' to {output}.")


def usage(
    tenant: TenantOpt,
    by: Annotated[
        str | None, typer.Option("--by", help=f"Group by {', '.join(USAGE_DIMENSIONS)}.", metavar="DIMENSION")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Usage of a tenant: calls, denials by stage, overage, errors and time, in total or per group."""
    if by is not None and by not in USAGE_DIMENSIONS:
        fail(f"--by must be one of {', '.join(USAGE_DIMENSIONS)}, not '{by}'")

    async def go(store: Store, settings: Settings) -> None:
        rows = await store.tenant(tenant).audit.usage(by, since=parse_when(since), until=parse_when(until))
        name = by or "tenant"
        if by is None:
            rows = [replace(r, key=tenant) for r in rows]
        if as_csv:
            sys.stdout.write(usage_rows_csv(rows, name))
        elif as_json:
            typer.echo(json.dumps([usage_dict(r) for r in rows], indent=2))
        elif not rows:
            typer.echo(f"No usage recorded for tenant '{tenant}' in that period.")
        else:
            body = [
                [r.key or "-", str(r.calls), str(r.ok), str(r.denied),
                 ", ".join(f"{s}: {n}" for s, n in sorted(r.denied_by_stage.items())) or "-",
                 str(r.held), str(r.errors), str(r.overage), f"{r.duration_us / 1e6:.3f}"]
                for r in rows
            ]  # fmt: skip
            header = [name.upper(), "CALLS", "OK", "DENIED", "DENIED BY STAGE", "HELD", "ERRORS", "OVERAGE", "SECONDS"]
            typer.echo(table(body, header))

    run_with_store(go)
