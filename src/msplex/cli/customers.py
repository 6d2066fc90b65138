"""``msplex customer``: an MSP's clients, each belonging to exactly one tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from msplex.cli._run import msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.settings import Settings
from msplex.store import Store

__all__ = ["app"]

app = group("Customers: an MSP's clients.")


@app.command("create", cls=Command)
def customer_create(
    slug: Annotated[str, typer.Argument(help="Lowercase slug: a-z, 0-9, '-'.", metavar="SLUG")],
    tenant: TenantOpt,
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).", metavar="TEXT")] = None,
) -> None:
    """Create a customer of a tenant."""

    async def go(store: Store, settings: Settings) -> None:
        customer = await store.tenant(tenant).create_customer(slug, name)
        typer.echo(f"Created customer '{customer.slug}' of tenant '{tenant}'.")
        hint = f"token create --tenant {tenant} --role customer --customer {customer.slug}"
        typer.echo(f"A token for it: {msplex_command(hint)}")

    run_with_store(go)


@app.command("list", cls=Command)
def customer_list(tenant: TenantOpt) -> None:
    """List a tenant's customers."""

    async def go(store: Store, settings: Settings) -> None:
        rows = [
            [c.slug, c.name, c.created_at.strftime("%Y-%m-%d")] for c in await store.tenant(tenant).list_customers()
        ]
        empty = f"No customers in tenant '{tenant}'. Add one: {msplex_command(f'customer create SLUG -t {tenant}')}"
        typer.echo(table(rows, ["SLUG", "NAME", "CREATED"]) if rows else empty)

    run_with_store(go)


@app.command("remove", cls=Command)
def customer_remove(slug: Annotated[str, typer.Argument(metavar="SLUG")], tenant: TenantOpt) -> None:
    """Remove a customer, with every token and entity bound to it."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).remove_customer(slug)
        typer.echo(f"Removed customer '{slug}' of tenant '{tenant}' (and its tokens and entities).")

    run_with_store(go)
