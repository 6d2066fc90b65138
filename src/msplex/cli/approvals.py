"""``msplex approvals``: calls held until a person approves them (list, show, approve, deny).

Decisions go through ``msplex.approvals.decide``, the admin API's code path. The
approver is recorded as ``cli:<user>`` (the operator at the host); waiting calls
learn of a decision through Redis when the deployment has one
(``MSPLEX_REDIS_URL``), else within a second from the store.
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from msplex.approvals import decide
from msplex.cli._run import msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.settings import Settings
from msplex.state import SharedState, open_state
from msplex.store import Store
from msplex.store.approvals import STATUSES, ApprovalRecord

__all__ = ["app", "approver", "render"]

app = group("Approvals: calls held until a person approves them.")

IdArg = Annotated[str, typer.Argument(help="The approval request's id.", metavar="ID")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (recorded with the decision).", metavar="TEXT")]


def approver() -> str:
    """Who decides from this shell, as recorded with the decision."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def _when(record: ApprovalRecord) -> str:
    return f"{record.expires_at:%Y-%m-%d %H:%M:%SZ}"


def render(record: ApprovalRecord) -> str:
    """Everything an approver needs to decide; the arguments are the redacted view."""
    lines = [
        f"id:         {record.id}",
        f"status:     {record.status}",
        f"{record.kind + ':':<11} {record.name} (connector instance '{record.instance}')",
        f"caller:     {record.requester}",
        f"customer:   {record.customer or '(the whole tenant)'}",
        f"created:    {record.created_at:%Y-%m-%d %H:%M:%SZ}",
        f"expires:    {_when(record)}",
        f"digest:     {record.digest}",
        "arguments:  " + json.dumps(record.arguments, indent=2, ensure_ascii=False).replace("\n", "\n            "),
    ]
    if record.decided_by is not None:
        lines.append(f"decided:    {record.decided_by} at {record.decided_at:%Y-%m-%d %H:%M:%SZ}")
    if record.reason:
        lines.append(f"reason:     {record.reason}")
    if record.executed_at is not None:
        lines.append(f"ran:        {record.executed_at:%Y-%m-%d %H:%M:%SZ}")
    return "\n".join(lines)


@app.command("list", cls=Command)
def approvals_list(
    tenant: TenantOpt,
    status: Annotated[str, typer.Option(help=f"all, or one of {', '.join(STATUSES)}.", metavar="STATUS")] = "pending",
) -> None:
    """List a tenant's approval requests (newest first; pending ones by default)."""

    async def go(store: Store, settings: Settings) -> None:
        records = await store.tenant(tenant).approvals.list(status)
        rows = [[r.id, r.status, r.name, r.requester, r.customer or "-", _when(r)] for r in records]
        empty = f"No {'' if status == 'all' else status + ' '}approval requests in tenant '{tenant}'."
        typer.echo(table(rows, ["ID", "STATUS", "NAME", "CALLER", "CUSTOMER", "EXPIRES"]) if rows else empty)

    run_with_store(go)


@app.command("show", cls=Command)
def approvals_show(approval_id: IdArg, tenant: TenantOpt) -> None:
    """Show one approval request: what would run, for whom, with which (redacted) arguments."""

    async def go(store: Store, settings: Settings) -> None:
        typer.echo(render(await store.tenant(tenant).approvals.get(approval_id)))

    run_with_store(go)


def _decide(approval_id: str, tenant: str, reason: str | None, *, approve: bool) -> None:
    async def go(store: Store, settings: Settings) -> None:
        state: SharedState | None = None
        if settings.redis_url:
            state = open_state(settings.redis_url, prefix=settings.redis_prefix)
            await state.start()
        try:
            record = await decide(
                store, state, tenant, approval_id, approve=approve, approver=approver(), reason=reason
            )
        finally:
            if state is not None:
                await state.close()
        typer.echo(f"{record.status.capitalize()} approval request {record.id} ({record.name}) of tenant '{tenant}'.")
        if approve:
            typer.echo(f"The caller's retry runs it once, before {_when(record)}.")
        typer.echo(f"See: {msplex_command(f'approvals show --tenant {tenant} {record.id}')}")

    run_with_store(go)


@app.command("approve", cls=Command)
def approvals_approve(approval_id: IdArg, tenant: TenantOpt, reason: ReasonOpt = None) -> None:
    """Approve a pending request: the call runs once, with the arguments it was held with."""
    _decide(approval_id, tenant, reason, approve=True)


@app.command("deny", cls=Command)
def approvals_deny(approval_id: IdArg, tenant: TenantOpt, reason: ReasonOpt = None) -> None:
    """Deny a pending request: the call never runs, and its caller is told why."""
    _decide(approval_id, tenant, reason, approve=False)
