"""``msplex entity``: branded endpoints, ``/mcp/entities/{slug}``, each a selection of a tenant's items."""

from __future__ import annotations

from typing import Annotated

import typer

from msplex.cli._run import fail, msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.settings import Settings
from msplex.store import EntityRecord, Store

__all__ = ["app"]

app = group("Branded endpoints: /mcp/entities/SLUG shows a selection of a tenant's items under its own name.")

Slug = Annotated[str, typer.Argument(help="Lowercase slug, unique across the gateway.", metavar="SLUG")]


def _describe(entity: EntityRecord, customer: str | None, base: str) -> str:
    lines = [
        f"Entity {entity.slug!r}: {base}/mcp/entities/{entity.slug}",
        f"  name: {entity.name}",
        f"  title: {entity.title or '-'}",
        f"  description: {entity.description or '-'}",
        f"  icon: {entity.icon_url or '-'}",
        f"  website: {entity.website_url or '-'}",
        f"  support: {entity.support_url or '-'}",
        f"  customer: {customer or '- (any identity of the tenant)'}",
        f"  anonymous: {'allowed (public items only)' if entity.allow_anonymous else 'no'}",
        f"  tools: {', '.join(entity.tools) or '(none selected yet)'}",
    ]
    return "\n".join(lines)


@app.command("create", cls=Command)
def entity_create(
    slug: Slug,
    tenant: TenantOpt,
    name: Annotated[str, typer.Option(help="Shown as the server's name in a client's picker.", metavar="TEXT")],
    title: Annotated[str | None, typer.Option(help="A human-friendly title.", metavar="TEXT")] = None,
    description: Annotated[str | None, typer.Option(help="What this endpoint offers.", metavar="TEXT")] = None,
    icon_url: Annotated[str | None, typer.Option(help="An icon (https URL).", metavar="URL")] = None,
    website_url: Annotated[str | None, typer.Option(help="The entity's website.", metavar="URL")] = None,
    support_url: Annotated[str | None, typer.Option(help="Where its users get help.", metavar="URL")] = None,
    customer: Annotated[
        str | None, typer.Option(help="Admit only identities of this customer.", metavar="SLUG")
    ] = None,
    allow_anonymous: Annotated[bool, typer.Option(help="Let anonymous clients in (public items only).")] = False,
) -> None:
    """Create a branded endpoint; then select its items with 'entity tools --add'."""

    async def go(store: Store, settings: Settings) -> None:
        entity = await store.tenant(tenant).create_entity(
            slug,
            name,
            title=title,
            description=description,
            icon_url=icon_url,
            website_url=website_url,
            support_url=support_url,
            customer=customer,
            allow_anonymous=allow_anonymous,
        )
        typer.echo(f"Created entity '{entity.slug}': {settings.public_url}/mcp/entities/{entity.slug}")
        typer.echo(f"Select its items: {msplex_command(f'entity tools {entity.slug} -t {tenant} --add PATTERN')}")

    run_with_store(go)


@app.command("tools", cls=Command)
def entity_tools(
    slug: Slug,
    tenant: TenantOpt,
    add: Annotated[
        list[str] | None, typer.Option("--add", help="A glob to select (repeatable).", metavar="GLOB")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="A glob to drop (repeatable).", metavar="GLOB")
    ] = None,
) -> None:
    """Change which of the tenant's items the entity shows (still subject to the ACL)."""
    if not add and not remove:
        fail("give --add GLOB or --remove GLOB")

    async def go(store: Store, settings: Settings) -> None:
        entity = await store.tenant(tenant).entity_tools(slug, add=add or (), remove=remove or ())
        typer.echo(f"Entity '{slug}' selects: {', '.join(entity.tools) or '(nothing)'}")

    run_with_store(go)


@app.command("list", cls=Command)
def entity_list(tenant: TenantOpt) -> None:
    """List a tenant's entities."""

    async def go(store: Store, settings: Settings) -> None:
        rows = [
            [e.slug, e.name, f"{settings.public_url}/mcp/entities/{e.slug}", ", ".join(e.tools) or "-"]
            for e in await store.tenant(tenant).list_entities()
        ]
        typer.echo(table(rows, ["SLUG", "NAME", "ENDPOINT", "TOOLS"]) if rows else "No entities.")

    run_with_store(go)


@app.command("show", cls=Command)
def entity_show(slug: Slug, tenant: TenantOpt) -> None:
    """Show one entity."""

    async def go(store: Store, settings: Settings) -> None:
        scope = store.tenant(tenant)
        entity = await scope.get_entity(slug)
        customers = {c.id: c.slug for c in await scope.list_customers()}
        typer.echo(_describe(entity, customers.get(entity.customer_id or ""), settings.public_url))

    run_with_store(go)


@app.command("remove", cls=Command)
def entity_remove(slug: Slug, tenant: TenantOpt) -> None:
    """Remove an entity (its endpoint stops answering at once)."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).remove_entity(slug)
        typer.echo(f"Removed entity '{slug}' of tenant '{tenant}'.")

    run_with_store(go)
