"""``msplex tenant``: the MSPs this gateway serves (the platform operator's)."""

from __future__ import annotations

from typing import Annotated

import typer

from msplex.cli._run import fail, msplex_command, run_with_store
from msplex.cli._typer import Command, group, table
from msplex.settings import Settings
from msplex.store import Store

__all__ = ["app"]

app = group("Tenants: who the gateway serves.")


@app.command("create", cls=Command)
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Lowercase slug: a-z, 0-9, '-'.", metavar="SLUG")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).", metavar="TEXT")] = None,
    allow_anonymous: Annotated[
        bool, typer.Option(help="Let anonymous clients in (they still see only items made public).")
    ] = False,
) -> None:
    """Create a tenant."""

    async def go(store: Store, settings: Settings) -> None:
        tenant = await store.create_tenant(slug, name, allow_anonymous)
        typer.echo(f"Created tenant '{tenant.slug}'. Endpoint: {settings.public_url}/mcp/v1/{tenant.slug}")
        typer.echo(f"Next: {msplex_command(f'token create --tenant {tenant.slug}')}")

    run_with_store(go)


@app.command("list", cls=Command)
def tenant_list() -> None:
    """List tenants."""

    async def go(store: Store, settings: Settings) -> None:
        tenants = await store.list_tenants()
        rows = [[t.slug, t.name, "yes" if t.allow_anonymous else "no"] for t in tenants]
        typer.echo(table(rows, ["SLUG", "NAME", "ANONYMOUS"]) if rows else "No tenants yet.")

    run_with_store(go)


@app.command("read-only", cls=Command)
def tenant_read_only(
    slug: Annotated[str, typer.Argument(help="The tenant.", metavar="SLUG")],
    mode: Annotated[str, typer.Argument(help="on or off.", metavar="on|off")],
) -> None:
    """Switch read-only mode: on, only tools annotated readOnlyHint may be called (and listed)."""
    if mode not in ("on", "off"):
        fail("the mode is 'on' or 'off'")

    async def go(store: Store, settings: Settings) -> None:
        tenant = await store.set_read_only(slug, mode == "on")
        if tenant.read_only:
            typer.echo(f"Tenant '{slug}' is read-only: only tools annotated readOnlyHint can be called.")
        else:
            typer.echo(f"Tenant '{slug}' is no longer read-only: its policy rules decide again.")

    run_with_store(go)
