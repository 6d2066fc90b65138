"""``msplex upstream``: a tenant's upstream MCP servers."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from msplex.cli._run import CliError, fail, msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.settings import Settings
from msplex.store import Store, validation
from msplex.upstream.base import UpstreamSpec

__all__ = ["app"]

app = group("Upstream MCP servers of a tenant.")


def _secret_value(value: str, what: str, stdin_used: list[bool]) -> str:
    """A value given as ``-`` comes from stdin (one line, once per command), as ``@PATH`` from a file:
    either keeps a secret out of the command line, the shell history and ``ps``."""
    if value == "-":
        if stdin_used:
            raise CliError(f"{what}: only one value can come from stdin; read the others from files (@PATH)")
        stdin_used.append(True)
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CliError(f"{what}: stdin was empty")
        return line
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise CliError(f"{what}: cannot read {path} ({exc.strerror})") from None
    return value


def _parse_headers(values: list[str], stdin_used: list[bool] | None = None) -> dict[str, str]:
    headers: dict[str, str] = {}
    used = stdin_used if stdin_used is not None else []
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise CliError("--header must look like 'Name: value' ('Name: -' reads stdin, 'Name: @PATH' a file)")
        headers[name.strip()] = _secret_value(value.strip(), f"--header {name.strip()}", used)
    return headers


def _parse_env(values: list[str], stdin_used: list[bool]) -> dict[str, str]:
    env: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise CliError("--env must look like NAME=VALUE (NAME=- reads stdin, NAME=@PATH a file)")
        env[name.strip()] = _secret_value(value, f"--env {name.strip()}", stdin_used)
    return env


def _parse_command(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise CliError(f"--command cannot be parsed ({exc}); check its quoting") from None
    if not argv:
        raise CliError("--command is empty")
    return argv


@app.command("add", cls=Command)
def upstream_add(
    name: Annotated[str, typer.Argument(help="Upstream name: a-z, 0-9, '-'; prefixes its tools.", metavar="NAME")],
    tenant: TenantOpt,
    url: Annotated[str | None, typer.Option(help="Streamable HTTP endpoint of the upstream.", metavar="URL")] = None,
    command: Annotated[
        str | None, typer.Option(help='stdio server command line, e.g. "npx -y pkg".', metavar="'CMD ARGS'")
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            help="A header to send, repeatable; 'NAME: -' reads the value from stdin, 'NAME: @PATH' from a file.",
            metavar="'NAME: VALUE'",
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            "-e",
            help="A stdio child's secret environment variable, sealed in the vault, repeatable; "
            "NAME=- reads stdin, NAME=@PATH a file.",
            metavar="NAME=VALUE",
        ),
    ] = None,
    no_prefix: Annotated[bool, typer.Option("--no-prefix", help="Keep the upstream's own names.")] = False,
) -> None:
    """Register an upstream MCP server for a tenant."""
    if (url is None) == (command is None):
        fail("give exactly one of --url URL or --command 'CMD ARGS'")

    if env and command is None:
        fail("--env is for a stdio upstream (--command); an HTTP upstream takes --header")

    async def go(store: Store, settings: Settings) -> None:
        stdin_used: list[bool] = []
        headers = _parse_headers(header or [], stdin_used)
        child_env = _parse_env(env or [], stdin_used)
        argv = _parse_command(command) if command is not None else None
        if no_prefix:
            await _refuse_collisions(store, tenant, name, url, argv, headers, child_env)
        record = await store.tenant(tenant).add_upstream(
            name, url=url, command=argv, headers=headers, env=child_env, prefix=not no_prefix
        )
        naming = "names unchanged" if not record.prefix else f"tools appear as {record.name}__<tool>"
        typer.echo(f"Added upstream '{record.name}' ({record.transport}) to tenant '{tenant}': {naming}.")

    run_with_store(go)


async def _refuse_collisions(
    store: Store,
    tenant: str,
    name: str,
    url: str | None,
    argv: list[str] | None,
    headers: dict[str, str],
    env: dict[str, str],
) -> None:
    from msplex.cli.collisions import CollisionCheckFailed, find_collisions

    validation.check_upstream_name(name)
    if url is not None:
        validation.check_url(url)
    if argv is not None:
        validation.check_command(argv)
    validation.check_headers(headers)
    record = await store.get_tenant(tenant)
    others = await store.tenant(tenant).upstream_entries()
    if any(o.spec.name == name for o in others):
        return  # add_upstream reports the duplicate name
    spec = UpstreamSpec(
        tenant_id=record.id,
        name=name,
        transport="http" if url is not None else "stdio",
        url=url,
        command=tuple(argv or ()),
        env=tuple(env.items()),
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


@app.command("list", cls=Command)
def upstream_list(tenant: TenantOpt) -> None:
    """List a tenant's upstreams (header values are never shown)."""

    async def go(store: Store, settings: Settings) -> None:
        rows = [
            [
                u.name,
                u.transport,
                u.url or shlex.join(u.command),
                "yes" if u.prefix else "no",
                ", ".join([*(f"{h}: ****" for h in u.header_names), *(f"${e}=****" for e in u.env_names)]) or "-",
            ]
            for u in await store.tenant(tenant).list_upstreams()
        ]
        empty = (
            f"No upstreams in tenant '{tenant}'. Add one: {msplex_command(f'upstream add NAME -t {tenant} --url URL')}"
        )
        typer.echo(table(rows, ["NAME", "TRANSPORT", "TARGET", "PREFIX", "HEADERS"]) if rows else empty)

    run_with_store(go)


@app.command("remove", cls=Command)
def upstream_remove(name: Annotated[str, typer.Argument(metavar="NAME")], tenant: TenantOpt) -> None:
    """Remove an upstream from a tenant."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).remove_upstream(name)
        typer.echo(f"Removed upstream '{name}' from tenant '{tenant}'.")

    run_with_store(go)
