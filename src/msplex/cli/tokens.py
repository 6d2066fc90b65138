"""``msplex token``: personal access tokens (a tenant's, with a role, or the platform operator's)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated

import typer

from msplex.cli._run import CliError, fail, run_with_store
from msplex.cli._typer import Command, group, table
from msplex.settings import Settings
from msplex.store import Store
from msplex.store.models import utcnow
from msplex.store.records import TokenRecord

__all__ = ["app", "parse_duration"]

app = group("Personal access tokens: a tenant's, or the operator's.")

OptionalTenant = Annotated[str | None, typer.Option("--tenant", "-t", help="Tenant slug.", metavar="SLUG")]
Operator = Annotated[bool, typer.Option("--operator", help="The platform operator's tokens (admin API, all tenants).")]
_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d``, ``2w``."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        fail(f"--expires {text!r} is not a duration; use a number and m, h, d or w, e.g. 30d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _scope(tenant: str | None, operator: bool) -> str | None:
    if operator == (tenant is not None):
        fail("give either --tenant SLUG or --operator")
    return tenant


@app.command("create", cls=Command)
def token_create(
    tenant: OptionalTenant = None,
    name: Annotated[str | None, typer.Option(help="A label for the token.", metavar="TEXT")] = None,
    role: Annotated[str, typer.Option(help="admin, member or customer.", metavar="ROLE")] = "member",
    customer: Annotated[
        str | None, typer.Option(help="The customer a customer token is bound to.", metavar="SLUG")
    ] = None,
    tools: Annotated[
        list[str] | None,
        typer.Option("--tools", help="Only items matching these globs (repeatable); narrows the role.", metavar="GLOB"),
    ] = None,
    expires: Annotated[str | None, typer.Option(help="Lifetime, e.g. 90m, 12h, 30d, 2w.", metavar="DURATION")] = None,
    operator: Operator = False,
) -> None:
    """Create a token; it is printed once, as the last line of output."""
    slug = _scope(tenant, operator)
    expires_at: datetime | None = utcnow() + parse_duration(expires) if expires is not None else None

    async def go(store: Store, settings: Settings) -> None:
        if slug is None:
            if role != "member" or customer or tools or expires_at:
                raise CliError("an operator token takes only --name")
            token, record = await store.create_operator_token(name)
            typer.echo(f"Created operator token '{record.name}' (id {record.id}). It is shown once:")
        else:
            token, record = await store.tenant(slug).create_token(
                name, role=role, customer=customer, tools=tools, expires_at=expires_at
            )
            bound = f" for customer '{customer}'" if customer else ""
            typer.echo(
                f"Created {role} token '{record.name}' (id {record.id}) of tenant '{slug}'{bound}. It is shown once:"
            )
        typer.echo(token)

    run_with_store(go)


def _row(t: TokenRecord) -> list[str]:
    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    state = "revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at <= utcnow() else "active"
    return [
        t.id,
        t.prefix + "…",
        t.name,
        t.role or "operator",
        t.customer or "-",
        ", ".join(t.tools) if t.tools is not None else "*",
        when(t.expires_at),
        when(t.last_used_at),
        state,
    ]


@app.command("list", cls=Command)
def token_list(tenant: OptionalTenant = None, operator: Operator = False) -> None:
    """List tokens: never the token, only its prefix."""
    slug = _scope(tenant, operator)

    async def go(store: Store, settings: Settings) -> None:
        records = await store.list_operator_tokens() if slug is None else await store.tenant(slug).list_tokens()
        header = ["ID", "PREFIX", "NAME", "ROLE", "CUSTOMER", "TOOLS", "EXPIRES", "LAST USED", "STATE"]
        typer.echo(table([_row(t) for t in records], header) if records else "No tokens.")

    run_with_store(go)


@app.command("revoke", cls=Command)
def token_revoke(
    token_id: Annotated[
        str, typer.Argument(help="Token id, or prefix as 'token list' prints it.", metavar="ID-OR-PREFIX")
    ],
    tenant: OptionalTenant = None,
    operator: Operator = False,
) -> None:
    """Revoke a token (effective on every running gateway, open sessions included, within seconds)."""
    slug = _scope(tenant, operator)

    async def go(store: Store, settings: Settings) -> None:
        if slug is None:
            record = await store.revoke_operator_token(token_id.strip())
            typer.echo(f"Revoked operator token {record.id}.")
        else:
            record = await store.tenant(slug).revoke_token(token_id.strip())
            typer.echo(f"Revoked token {record.id} of tenant '{slug}'.")

    run_with_store(go)
