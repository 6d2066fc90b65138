"""``msplex customer``: an MSP's clients, each belonging to exactly one tenant."""

from __future__ import annotations

from typing import Annotated

import typer

from msplex.cli._run import CliError, msplex_command, run_with_store
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


ConnectorOpt = Annotated[str, typer.Option("--connector", "-c", help="Connector instance name.", metavar="NAME")]


@app.command("map", cls=Command)
def customer_map(
    slug: Annotated[str, typer.Argument(metavar="SLUG")],
    tenant: TenantOpt,
    connector: ConnectorOpt,
    vendor_id: Annotated[
        str, typer.Option("--vendor-id", help="The customer's id in the vendor (Halo client id, ...).", metavar="ID")
    ],
) -> None:
    """Map a customer to its id in a connector's vendor: calls bound to it reach only that record's data."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).connectors.map_customer(slug, connector, vendor_id)
        typer.echo(f"Mapped customer '{slug}' to {vendor_id} on connector '{connector}' of tenant '{tenant}'.")

    run_with_store(go)


@app.command("discover", cls=Command)
def customer_discover(
    tenant: TenantOpt,
    connector: ConnectorOpt,
    apply: Annotated[bool, typer.Option("--apply", help="Map the unambiguous matches.")] = False,
) -> None:
    """Propose customers' vendor ids by matching names (ambiguity is refused, never guessed)."""
    from msplex.connectors.manage import ConnectFailed, discover

    async def go(store: Store, settings: Settings) -> None:
        try:
            proposals = await discover(store, tenant, connector, apply=apply)
        except ConnectFailed as exc:
            raise CliError(str(exc)) from None
        rows = [[p.customer, p.verdict, p.describe()] for p in proposals]
        typer.echo(table(rows, ["CUSTOMER", "VERDICT", "DETAIL"]) if rows else f"No customers in tenant '{tenant}'.")
        matches = sum(1 for p in proposals if p.verdict == "match")
        if apply:
            typer.echo(f"Mapped {matches} customer(s); map the others by hand with `customer map`.")
        elif matches:
            again = msplex_command(f"customer discover -t {tenant} -c {connector} --apply")
            typer.echo(f"Apply the {matches} match(es): {again}")

    run_with_store(go)
