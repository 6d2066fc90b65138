"""``msplex`` commands: a thin layer over ``msplex.store`` (the same services the gateway uses).

Every command migrates the store first, so a fresh ``MSPLEX_HOME`` just works.
Output meant for scripts is stable: ``token create`` prints the token as the
last line of stdout; ``status --json`` prints one JSON document.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from msplex import __version__
from msplex.cli import (
    approvals,
    audit,
    client_config,
    connectors,
    customers,
    entities,
    entitlements,
    oidc,
    policies,
    tenants,
    tokens,
    tools,
    upstreams,
)
from msplex.cli._run import (
    CliError,
    fail,
    listen_failure,
    load_settings,
    msplex_command,
    msplex_program,
    run_with_store,
)
from msplex.cli._typer import Command, Group
from msplex.cli.status import endpoints, render_status, status_document
from msplex.identity.oidc import Finding, diagnose
from msplex.identity.providers import provider_of
from msplex.settings import Settings
from msplex.store import OidcProviderRecord, Store

if TYPE_CHECKING:
    from msplex.sandbox.demo import Sandbox

__all__ = ["app", "main"]


app = typer.Typer(
    cls=Group,
    name="msplex",
    help="MSPlex: a multi-tenant MCP gateway.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for _name, _group in (
    ("tenant", tenants.app),
    ("customer", customers.app),
    ("upstream", upstreams.app),
    ("token", tokens.app),
    ("tool", tools.app),
    ("entity", entities.app),
    ("oidc", oidc.app),
    ("approvals", approvals.app),
    ("audit", audit.app),
    ("connect", connectors.connect_app),
    ("connector", connectors.connector_app),
    ("vault", connectors.vault_app),
    ("plan", entitlements.plan_app),
    ("subscription", entitlements.subscription_app),
    ("policy", policies.policy_app),
    ("quota", policies.quota_app),
):
    app.add_typer(_group, name=_name)
app.command("client-config", cls=Command)(client_config.client_config)
app.command("usage", cls=Command)(audit.usage)

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


# serve


@app.command(cls=Command)
def serve(
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also run the sandbox: the five vendor fakes on 127.0.0.1 in this process, connected to tenant "
            "'demo' (read-only tools on, two customers mapped). Idempotent across restarts.",
        ),
    ] = False,
) -> None:
    """Apply migrations and start the gateway (creates tenant 'demo' and a token on an empty store)."""
    settings = load_settings()
    from msplex.httpserver import listen  # the port first: a busy one must not cost a demo token

    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        fail(listen_failure(exc, settings))
    sandbox: Sandbox | None = None
    if demo:
        from msplex.sandbox.demo import start

        sandbox = start()

    async def prepare(store: Store, settings: Settings) -> None:
        tenants = [t.slug for t in await store.list_tenants()]
        if not tenants or (sandbox is not None and DEMO_TENANT not in tenants):
            await _create_demo(store, settings)
        else:
            for url in endpoints(settings.public_url, tenants):
                typer.echo(f"MCP endpoint: {url}")
        if sandbox is not None:
            await _seed_demo(store, sandbox)

    try:
        run_with_store(prepare, settings, quiet=False)
    except BaseException:
        sock.close()
        if sandbox is not None:
            sandbox.stop()
        raise
    from msplex.server import run  # imported here: the other commands need no HTTP server

    if sandbox is None:
        run(settings, sock)
        return
    previous = _stop_on_sigterm(sandbox)
    try:
        run(settings, sock)  # Ctrl-C returns here; SIGTERM ends in _stop_on_sigterm's handler
    finally:
        sandbox.stop()
        signal.signal(signal.SIGTERM, previous)


async def _create_demo(store: Store, settings: Settings) -> None:
    await store.create_tenant(DEMO_TENANT, "Demo")
    demo = store.tenant(DEMO_TENANT)
    for kind in ("tool", "prompt", "resource"):
        await demo.set_rule(kind, "*", enabled=True, audiences=("admin", "member"))
    token, _ = await demo.create_token("demo", role="admin")
    typer.echo(f"Created tenant '{DEMO_TENANT}'; its items are enabled for members.")
    typer.echo(f"MCP endpoint: {settings.public_url}/mcp/v1/{DEMO_TENANT}")
    typer.echo(f"Token (shown once): {token}")
    hint = f"client-config --tenant {DEMO_TENANT} --client claude-code --new-token laptop"
    typer.echo(f"Connect a client in one paste: {msplex_command(hint)}")
    typer.echo(f"Add an upstream: {msplex_command(f'upstream add NAME --tenant {DEMO_TENANT} --url URL')}")


async def _seed_demo(store: Store, sandbox: Sandbox) -> None:
    from msplex.connectors.manage import ConnectFailed
    from msplex.sandbox.demo import banner, seed

    try:
        seeded = await seed(store, DEMO_TENANT, sandbox)
    except ConnectFailed as exc:
        raise CliError(f"the demo sandbox could not connect its fakes ({exc}); rerun without --demo") from None
    for line in banner(seeded, DEMO_TENANT, msplex_program()):
        typer.echo(line)


def _stop_on_sigterm(sandbox: Sandbox) -> signal.Handlers | Callable[[int, FrameType | None], Any] | int | None:
    """On SIGTERM (which uvicorn re-raises after its graceful shutdown), stop the fakes, then die of it as before."""

    def handler(signum: int, frame: FrameType | None) -> None:
        sandbox.stop()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)

    return signal.signal(signal.SIGTERM, handler)


# status


@app.command(cls=Command)
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    tenant: Annotated[
        str | None, typer.Option("--tenant", "-t", help="Only this tenant's build and endpoint.", metavar="SLUG")
    ] = None,
) -> None:
    """Control plane state, connectors, endpoints, tool calls routed, unhealthy connectors."""

    async def go(store: Store, settings: Settings) -> None:
        if tenant is not None:
            await store.get_tenant(tenant)  # an unknown tenant is an error, not an empty block
        report = await store.status()
        providers = await check_providers(store, [t.slug for t in report.tenants])
        if as_json:
            typer.echo(json.dumps(status_document(report, settings, providers), indent=2))
        else:
            typer.echo(render_status(report, settings, providers, tenant))

    run_with_store(go)


async def check_providers(store: Store, slugs: list[str]) -> dict[str, list[Finding]]:
    """Each tenant's identity provider, checked from here (bounded: 5 s per fetch)."""
    records = {slug: await store.tenant(slug).get_oidc() for slug in slugs}
    configured = {slug: record for slug, record in records.items() if record is not None}
    if not configured:
        return {}
    async with httpx.AsyncClient(timeout=5.0) as http:

        async def check(record: OidcProviderRecord) -> list[Finding]:
            try:
                return await diagnose(provider_of(record), http)
            except ValueError as exc:
                return [Finding(False, "settings", str(exc))]

        results = await asyncio.gather(*(check(r) for r in configured.values()))
    return dict(zip(configured, results, strict=True))


def main() -> None:
    app()
