"""``msplex connect``, ``msplex connector`` and ``msplex vault``: vendor connector instances and their credentials.

``msplex connect VENDOR`` has one subcommand per available vendor, built from the vendor module's
own flags, so ``msplex connect halopsa --help`` lists exactly Halo's. Secrets come from the flag,
its environment variable, stdin (``--client-secret -``) or a no-echo prompt at a terminal; they are
validated live against the vendor before they are sealed in the vault, and never printed.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from msplex.cli._run import CliError, fail, msplex_command, run_with_store
from msplex.cli._typer import Command, Group, TenantOpt, group, table
from msplex.connectors.framework.registry import available
from msplex.connectors.framework.spec import Flag, Vendor
from msplex.connectors.manage import ConnectFailed, connect, enable_tools
from msplex.settings import Settings
from msplex.store import Store

__all__ = ["connect_app", "connector_app", "vault_app"]

connect_app = typer.Typer(
    cls=Group,
    help="Connect a vendor (HaloPSA, Hudu, ...) to a tenant: live-validated, credentials sealed in the vault.",
    invoke_without_command=True,
)
connector_app = group("A tenant's vendor connector instances (created by `msplex connect`).")
vault_app = group("The vault that seals connector credentials.")

ENABLE = ("none", "read-only", "all")


@connect_app.callback()
def _connect_root(ctx: typer.Context) -> None:
    """Connect a vendor to a tenant; with no vendor, list the vendors."""
    if ctx.invoked_subcommand is not None:
        return
    vendors = available()
    if not vendors:
        typer.echo("No vendor connector modules are installed.")
        return
    rows = [[v.kind, v.title, " ".join(f.option for f in v.flags), str(len(v.tools))] for v in vendors]
    typer.echo(table(rows, ["VENDOR", "NAME", "FLAGS", "TOOLS"]))
    typer.echo(f"Connect one: {msplex_command('connect VENDOR --tenant SLUG --base-url URL ...')} (--help per vendor)")


def _read_secret(flag: Flag, given: str | None, stdin_used: list[bool]) -> str | None:
    if given == "-":
        if stdin_used:
            raise CliError(f"only one secret can come from stdin; pass {flag.option} by its environment variable")
        stdin_used.append(True)
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CliError(f"{flag.option} -: stdin was empty")
        return value
    if given:
        return given
    if flag.env and os.environ.get(flag.env):
        return os.environ[flag.env]
    return None


def _connect(vendor: Vendor, options: dict[str, Any]) -> None:
    tenant, base_url = options["tenant"], options["base_url"]
    enable = options["enable"]
    if enable not in ENABLE:
        fail(f"--enable takes one of {', '.join(ENABLE)}")
    stdin_used: list[bool] = []
    settings: dict[str, str] = {}
    secrets: dict[str, str] = {}
    try:
        for flag in vendor.flags:
            given = options.get(flag.field)
            if flag.secret:
                if (value := _read_secret(flag, given, stdin_used)) is not None:
                    secrets[flag.field] = value
            elif given or flag.default:
                settings[flag.field] = given or flag.default or ""
    except CliError as exc:
        fail(str(exc))
    name = options["instance"] or vendor.kind

    async def go(store: Store, _: Settings) -> None:
        existing = {r.name for r in await store.tenant(tenant).connectors.list()}
        for flag in vendor.flags:
            if flag.secret and flag.field not in secrets and name not in existing and flag.required:
                if not sys.stdin.isatty():
                    hint = f" or ${flag.env}" if flag.env else ""
                    raise CliError(f"{vendor.title} needs {flag.option} (pass it, '-' for stdin{hint})")
                secrets[flag.field] = typer.prompt(f"{flag.help}", hide_input=True)
        from msplex.connectors.framework.spec import AuthorizationCode

        try:
            done = await connect(
                store,
                tenant,
                vendor.kind,
                name=name,
                base_url=base_url,
                token_url=options["token_url"],
                settings=settings,
                secrets=secrets,
                validate=not options["skip_validation"],
            )
        except ConnectFailed as exc:
            raise CliError(str(exc)) from None
        await enable_tools(store, tenant, done, enable)
        if isinstance(vendor.credential, AuthorizationCode):
            verb = "Saved" if done.created else "Updated"
            typer.echo(f"{verb} {vendor.title} as '{name}' in tenant '{tenant}'; it needs a person's grant next:")
            typer.echo(f"  {msplex_command(f'connector authorize {name} --tenant {tenant}')}")
            return
        verb = "Connected" if done.created else "Updated"
        checked = "validated live" if not options["skip_validation"] else "not validated (--skip-validation)"
        typer.echo(f"{verb} {vendor.title} as '{name}' in tenant '{tenant}' ({checked}).")
        typer.echo("-> Gateway session ready")
        for public, read_only in done.tools:
            on = enable == "all" or (enable == "read-only" and read_only)
            typer.echo(f"   {public}  ({'read-only' if read_only else 'write'}{', enabled' if on else ''})")
        if enable == "none":
            hint = f"tool enable '{name}__*' --tenant {tenant}"
            typer.echo(f"Tools start disabled; enable them: {msplex_command(hint)} (or --enable read-only|all)")

    run_with_store(go)


def _vendor_command(vendor: Vendor) -> Callable[..., None]:
    def command(**options: Any) -> None:
        _connect(vendor, options)

    def option(*decls: str, help: str, metavar: str = "VALUE") -> Any:
        return typer.Option(*decls, help=help, metavar=metavar)

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("tenant", keyword, annotation=TenantOpt),
        inspect.Parameter(
            "base_url",
            keyword,
            annotation=Annotated[str, option("--base-url", help=f"The {vendor.base_url_help}.", metavar="URL")],
        ),
        inspect.Parameter(
            "instance",
            keyword,
            default=None,
            annotation=Annotated[
                str | None, option("--instance", help=f"Instance name (default: {vendor.kind}).", metavar="NAME")
            ],
        ),
        inspect.Parameter(
            "token_url",
            keyword,
            default=None,
            annotation=Annotated[
                str | None, option("--token-url", help="Token endpoint, when not the vendor's default.", metavar="URL")
            ],
        ),
    ]
    for flag in vendor.flags:
        extra = ""
        if flag.secret:
            extra = " Secret: '-' reads stdin" + (f"; or set {flag.env}" if flag.env else "") + "; prompted if missing."
        elif flag.default:
            extra = f" Default: {flag.default}."
        params.append(
            inspect.Parameter(
                flag.field,
                keyword,
                default=None,
                annotation=Annotated[str | None, option(flag.option, help=flag.help + extra)],
            )
        )
    params += [
        inspect.Parameter(
            "enable",
            keyword,
            default="none",
            annotation=Annotated[
                str, option("--enable", help="Enable tools now: none, read-only or all.", metavar="WHICH")
            ],
        ),
        inspect.Parameter(
            "skip_validation",
            keyword,
            default=False,
            annotation=Annotated[
                bool, typer.Option("--skip-validation", help="Save without the live check (offline setup).")
            ],
        ),
    ]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = f"Connect {vendor.title} to a tenant (or update the instance's settings and credentials)."
    return command


for _vendor in available():
    connect_app.command(_vendor.kind, cls=Command)(_vendor_command(_vendor))


# msplex connector ---------------------------------------------------------------------------------


@connector_app.command("list", cls=Command)
def connector_list(tenant: TenantOpt) -> None:
    """List a tenant's connector instances."""

    async def go(store: Store, settings: Settings) -> None:
        records = await store.tenant(tenant).connectors.list()
        rows = [[r.name, r.kind, r.base_url, str(len(r.customers)), r.updated_at.strftime("%Y-%m-%d")] for r in records]
        empty = f"No connectors in tenant '{tenant}'. Add one: {msplex_command(f'connect VENDOR --tenant {tenant}')}"
        typer.echo(table(rows, ["NAME", "VENDOR", "BASE URL", "CUSTOMERS", "UPDATED"]) if rows else empty)

    run_with_store(go)


@connector_app.command("show", cls=Command)
def connector_show(name: Annotated[str, typer.Argument(metavar="NAME")], tenant: TenantOpt) -> None:
    """One connector instance: settings, which secrets are set (never their values), mapped customers."""

    async def go(store: Store, settings: Settings) -> None:
        r = await store.tenant(tenant).connectors.get(name)
        lines = [
            f"Name: {r.name}",
            f"Vendor: {r.kind}",
            f"Base URL: {r.base_url}",
            f"Token URL: {r.token_url or '(vendor default)'}",
            *(f"{k}: {v}" for k, v in sorted(r.settings.items())),
            f"Secrets set: {', '.join(r.secret_fields) or 'none'}",
            f"Customers: {', '.join(f'{c} -> {v}' for c, v in sorted(r.customers.items())) or 'none mapped'}",
            f"Tools: {r.name}__*",
        ]
        typer.echo("\n".join(lines))

    run_with_store(go)


@connector_app.command("remove", cls=Command)
def connector_remove(name: Annotated[str, typer.Argument(metavar="NAME")], tenant: TenantOpt) -> None:
    """Remove a connector instance, its sealed credentials and its customer mappings."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).connectors.remove(name)
        typer.echo(f"Removed connector '{name}' of tenant '{tenant}' (credentials and customer mappings deleted).")

    run_with_store(go)


@connector_app.command("authorize", cls=Command)
def connector_authorize(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    tenant: TenantOpt,
    port: Annotated[int, typer.Option("--port", help="Local port of the redirect (0: any free one).")] = 0,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the grant.", metavar="SECONDS")] = 300.0,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the URL in a browser.")] = True,
) -> None:
    """Grant a connector a person's access (OAuth authorization code with PKCE, e.g. NinjaOne's user
    context): open the printed URL, consent, and the redirect to this machine completes it."""

    async def go(store: Store, settings: Settings) -> None:
        from msplex.cli._redirect import receive_code
        from msplex.connectors.manage import begin_authorization, finish_authorization

        try:
            async with receive_code(port) as (redirect_uri, codes):
                grant = await begin_authorization(store, tenant, name, redirect_uri)
                typer.echo(f"Open this URL to grant access (waiting {wait:g} s):\n{grant.url}", color=False)
                sys.stdout.flush()
                if browser and sys.stdin.isatty():
                    import webbrowser

                    webbrowser.open(grant.url)
                code = await codes(grant.state, wait)
            done = await finish_authorization(store, tenant, name, grant, code)
        except ConnectFailed as exc:
            raise CliError(str(exc)) from None
        typer.echo(f"Authorized connector '{name}' of tenant '{tenant}' (tokens sealed in the vault).")
        typer.echo("-> Gateway session ready")
        for public, read_only in done.tools:
            typer.echo(f"   {public}  ({'read-only' if read_only else 'write'})")

    run_with_store(go)


# msplex vault -----------------------------------------------------------------------------------------


@vault_app.command("rotate-key", cls=Command)
def vault_rotate_key() -> None:
    """Seal every connector credential under a new key (old keys keep opening until re-sealed)."""

    async def go(store: Store, settings: Settings) -> None:
        from msplex.store.connectors import reseal_all

        if store.vault.path is not None:
            store.vault.rotate_file()
            typer.echo(f"New primary key written first to {store.vault.path} (older keys kept for opening).")
        else:
            typer.echo("Keys come from MSPLEX_VAULT_KEY: re-sealing under its first key.")
        resealed, current = await reseal_all(store)
        typer.echo(f"Re-sealed {resealed} connector(s) and stdio upstream(s); {current} already under the primary key.")

    run_with_store(go)
