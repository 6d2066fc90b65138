"""``msplex`` commands: a thin layer over ``msplex.store`` (the same services the gateway uses).

Every command migrates the store first, so a fresh ``MSPLEX_HOME`` just works.
Output meant for scripts is stable: ``token create`` prints the token as the
last line of stdout; ``status --json`` prints one JSON document.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from msplex import __version__
from msplex.cli._run import CliError, fail, listen_failure, load_settings, msplex_command, run_with_store
from msplex.cli.status import endpoints, render_status, status_document
from msplex.settings import Settings
from msplex.store import Store, validation
from msplex.upstream.base import UpstreamSpec

if TYPE_CHECKING:
    from typer._click import Context, Parameter  # typer vendors click; its types have no public name

__all__ = ["app", "main"]


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Context) -> str | None:
        return None  # the name column shows the metavar already


class _Option(TyperOption):
    def display_type_rich(self, ctx: Context) -> str | None:
        return None if self.is_flag else self.metavar or "TEXT"


def _conventional(params: list[Parameter]) -> list[Parameter]:
    """typer 0.29 labels every parameter in help with its Python type (``name <str>``, ``--header
    <list[str]>``, ``<bool>`` after each flag) and offers no setting to stop it: an argument's type
    column ignores ``metavar``. Help reads conventionally instead: the metavar, nothing after a flag.
    typer builds its parameter objects itself, so they are given the subclasses here."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Context) -> list[Parameter]:
        return _conventional(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Context) -> list[Parameter]:
        return _conventional(super().get_params(ctx))


app = typer.Typer(
    cls=_Group,
    name="msplex",
    help="MSPlex: a multi-tenant MCP gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tenant_app = typer.Typer(cls=_Group, help="Tenants: who the gateway serves.", no_args_is_help=True)
upstream_app = typer.Typer(cls=_Group, help="Upstream MCP servers of a tenant.", no_args_is_help=True)
token_app = typer.Typer(cls=_Group, help="Bearer tokens of a tenant.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(upstream_app, name="upstream")
app.add_typer(token_app, name="token")

TenantOpt = Annotated[str, typer.Option("--tenant", "-t", help="Tenant slug.", metavar="SLUG")]
DEMO_TENANT = "demo"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"msplex {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    """MSPlex: a multi-tenant MCP gateway."""


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows])


# serve


@app.command(cls=_Command)
def serve() -> None:
    """Apply migrations and start the gateway (creates tenant 'demo' and a token on an empty store)."""
    settings = load_settings()
    from msplex.httpserver import listen  # the port first: a busy one must not cost a demo token

    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        fail(listen_failure(exc, settings))

    async def prepare(store: Store, settings: Settings) -> None:
        tenants = await store.list_tenants()
        if not tenants:
            await store.create_tenant(DEMO_TENANT, "Demo")
            token, _ = await store.create_token(DEMO_TENANT, "demo")
            typer.echo(f"Created tenant '{DEMO_TENANT}' on an empty store.")
            typer.echo(f"MCP endpoint: {settings.public_url}/mcp/v1/{DEMO_TENANT}")
            typer.echo(f"Token (shown once): {token}")
            typer.echo(f"Add an upstream: {msplex_command(f'upstream add NAME --tenant {DEMO_TENANT} --url URL')}")
        else:
            for url in endpoints(settings.public_url, [t.slug for t in tenants]):
                typer.echo(f"MCP endpoint: {url}")

    try:
        run_with_store(prepare, settings, quiet=False)
    except BaseException:
        sock.close()
        raise
    from msplex.server import run  # imported here: the other commands need no HTTP server

    run(settings, sock)


# tenants


@tenant_app.command("create", cls=_Command)
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Lowercase slug: a-z, 0-9, '-'.", metavar="SLUG")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).", metavar="TEXT")] = None,
    allow_anonymous: Annotated[bool, typer.Option(help="Serve this tenant without a token.")] = False,
) -> None:
    """Create a tenant."""

    async def go(store: Store, settings: Settings) -> None:
        tenant = await store.create_tenant(slug, name, allow_anonymous)
        typer.echo(f"Created tenant '{tenant.slug}'. Endpoint: {settings.public_url}/mcp/v1/{tenant.slug}")
        typer.echo(f"Next: {msplex_command(f'token create --tenant {tenant.slug}')}")

    run_with_store(go)


@tenant_app.command("list", cls=_Command)
def tenant_list() -> None:
    """List tenants."""

    async def go(store: Store, settings: Settings) -> None:
        tenants = await store.list_tenants()
        rows = [[t.slug, t.name, "yes" if t.allow_anonymous else "no"] for t in tenants]
        typer.echo(_table(rows, ["SLUG", "NAME", "ANONYMOUS"]) if rows else "No tenants yet.")

    run_with_store(go)


# upstreams


def _parse_headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise CliError("--header must look like 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def _parse_command(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise CliError(f"--command cannot be parsed ({exc}); check its quoting") from None
    if not argv:
        raise CliError("--command is empty")
    return argv


@upstream_app.command("add", cls=_Command)
def upstream_add(
    name: Annotated[str, typer.Argument(help="Upstream name: a-z, 0-9, '-'; prefixes its tools.", metavar="NAME")],
    tenant: TenantOpt,
    url: Annotated[str | None, typer.Option(help="Streamable HTTP endpoint of the upstream.", metavar="URL")] = None,
    command: Annotated[
        str | None, typer.Option(help='stdio server command line, e.g. "npx -y pkg".', metavar="'CMD ARGS'")
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="A header to send, repeatable.", metavar="'NAME: VALUE'")
    ] = None,
    no_prefix: Annotated[bool, typer.Option("--no-prefix", help="Keep the upstream's own names.")] = False,
) -> None:
    """Register an upstream MCP server for a tenant."""
    if (url is None) == (command is None):
        fail("give exactly one of --url URL or --command 'CMD ARGS'")

    async def go(store: Store, settings: Settings) -> None:
        headers = _parse_headers(header or [])
        argv = _parse_command(command) if command is not None else None
        if no_prefix:
            await _refuse_collisions(store, tenant, name, url, argv, headers)
        record = await store.add_upstream(tenant, name, url=url, command=argv, headers=headers, prefix=not no_prefix)
        naming = "names unchanged" if not record.prefix else f"tools appear as {record.name}__<tool>"
        typer.echo(f"Added upstream '{record.name}' ({record.transport}) to tenant '{tenant}': {naming}.")

    run_with_store(go)


async def _refuse_collisions(
    store: Store, tenant: str, name: str, url: str | None, argv: list[str] | None, headers: dict[str, str]
) -> None:
    from msplex.cli.collisions import CollisionCheckFailed, find_collisions

    validation.check_upstream_name(name)
    if url is not None:
        validation.check_url(url)
    if argv is not None:
        validation.check_command(argv)
    validation.check_headers(headers)
    record = await store.get_tenant(tenant)
    others = await store.upstream_entries(tenant)
    if any(o.spec.name == name for o in others):
        return  # add_upstream reports the duplicate name
    spec = UpstreamSpec(
        tenant_id=record.id,
        name=name,
        transport="http" if url is not None else "stdio",
        url=url,
        command=tuple(argv or ()),
    )
    try:
        collisions = await find_collisions(spec, headers, others)
    except CollisionCheckFailed as exc:
        raise CliError(f"--no-prefix refused: {exc}; fix the upstream or add it without --no-prefix") from None
    if collisions:
        first = collisions[0]
        more = f" (and {len(collisions) - 1} more)" if len(collisions) > 1 else ""
        raise CliError(
            f"--no-prefix refused: {first.kind} '{first.public}' is already exposed by upstream "
            f"'{first.other_upstream}'{more}; add '{name}' without --no-prefix so its names become "
            f"{name}__<name>"
        )


@upstream_app.command("list", cls=_Command)
def upstream_list(tenant: TenantOpt) -> None:
    """List a tenant's upstreams (header values are never shown)."""

    async def go(store: Store, settings: Settings) -> None:
        rows = [
            [
                u.name,
                u.transport,
                u.url or shlex.join(u.command),
                "yes" if u.prefix else "no",
                ", ".join(f"{h}: ****" for h in u.header_names) or "-",
            ]
            for u in await store.list_upstreams(tenant)
        ]
        empty = (
            f"No upstreams in tenant '{tenant}'. Add one: {msplex_command(f'upstream add NAME -t {tenant} --url URL')}"
        )
        typer.echo(_table(rows, ["NAME", "TRANSPORT", "TARGET", "PREFIX", "HEADERS"]) if rows else empty)

    run_with_store(go)


@upstream_app.command("remove", cls=_Command)
def upstream_remove(name: Annotated[str, typer.Argument(metavar="NAME")], tenant: TenantOpt) -> None:
    """Remove an upstream from a tenant."""

    async def go(store: Store, settings: Settings) -> None:
        await store.remove_upstream(tenant, name)
        typer.echo(f"Removed upstream '{name}' from tenant '{tenant}'.")

    run_with_store(go)


# tokens


@token_app.command("create", cls=_Command)
def token_create(
    tenant: TenantOpt, name: Annotated[str | None, typer.Option(help="A label for the token.", metavar="TEXT")] = None
) -> None:
    """Create a bearer token; it is printed once, as the last line."""

    async def go(store: Store, settings: Settings) -> None:
        token, record = await store.create_token(tenant, name)
        typer.echo(f"Created token '{record.name}' (id {record.id}) for tenant '{tenant}'. It is shown once:")
        typer.echo(token)

    run_with_store(go)


@token_app.command("list", cls=_Command)
def token_list(tenant: TenantOpt) -> None:
    """List a tenant's tokens (prefixes only)."""

    async def go(store: Store, settings: Settings) -> None:
        rows = [
            [
                t.id,
                t.prefix + "…",
                t.name,
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                "revoked" if t.revoked_at else "active",
            ]
            for t in await store.list_tokens(tenant)
        ]
        typer.echo(_table(rows, ["ID", "PREFIX", "NAME", "CREATED", "STATE"]) if rows else "No tokens.")

    run_with_store(go)


@token_app.command("revoke", cls=_Command)
def token_revoke(
    token_id: Annotated[
        str, typer.Argument(help="Token id, or prefix as 'token list' prints it.", metavar="ID-OR-PREFIX")
    ],
    tenant: TenantOpt,
) -> None:
    """Revoke a token (effective on running gateways within seconds)."""
    key = token_id.strip().removesuffix("…").removesuffix("...")  # 'token list' prints prefixes with an ellipsis

    async def go(store: Store, settings: Settings) -> None:
        record = await store.revoke_token(tenant, key)
        typer.echo(f"Revoked token {record.id} of tenant '{tenant}'.")

    run_with_store(go)


# status


@app.command(cls=_Command)
def status(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False) -> None:
    """Control plane state, connectors, endpoints, tool calls routed, unhealthy upstreams."""

    async def go(store: Store, settings: Settings) -> None:
        report = await store.status()
        if as_json:
            typer.echo(json.dumps(status_document(report, settings), indent=2))
        else:
            typer.echo(render_status(report, settings))

    run_with_store(go)


def main() -> None:
    app()
