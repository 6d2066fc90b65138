"""``msplex oidc``: a tenant's own identity provider, and a check that says exactly what is wrong with it."""

from __future__ import annotations

import sys
from typing import Annotated

import httpx
import typer

from msplex.cli._run import CliError, fail, msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group
from msplex.identity.oidc import Finding, diagnose
from msplex.identity.providers import provider_of
from msplex.settings import Settings
from msplex.store import OidcProviderRecord, Store

__all__ = ["app", "render_findings"]

app = group("A tenant's own OpenID Connect identity provider (each MSP brings its own).")


def _role_map(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        group_name, sep, role = pair.partition("=")
        if not sep or not group_name.strip():
            raise CliError(f"--role-map {pair!r} must look like GROUP=ROLE")
        mapping[group_name.strip()] = role.strip()
    return mapping


def _show(record: OidcProviderRecord) -> str:
    roles = ", ".join(f"{g}={r}" for g, r in sorted(record.role_map.items())) or "-"
    return "\n".join(
        [
            f"issuer: {record.issuer}",
            f"audience: {record.audience}",
            f"jwks: {record.jwks_url or '(from the issuer discovery document)'}",
            f"customer claim: {record.customer_claim}",
            f"roles claim: {record.roles_claim}",
            f"role map: {roles}",
        ]
    )


def render_findings(findings: list[Finding]) -> str:
    return "\n".join(f"{'ok ' if f.ok else 'FAIL'} {f.check}: {f.message}" for f in findings)


@app.command("set", cls=Command)
def oidc_set(
    tenant: TenantOpt,
    issuer: Annotated[str, typer.Option(help="The provider's issuer URL (the token's iss).", metavar="URL")],
    audience: Annotated[str, typer.Option(help="What tokens must name in aud.", metavar="AUD")],
    jwks_url: Annotated[
        str | None, typer.Option(help="Default: from the issuer's discovery document.", metavar="URL")
    ] = None,
    customer_claim: Annotated[
        str, typer.Option(help="Claim holding a customer slug.", metavar="CLAIM")
    ] = "msplex_customer",
    roles_claim: Annotated[str, typer.Option(help="Claim holding roles or groups.", metavar="CLAIM")] = "roles",
    role_map: Annotated[
        list[str] | None,
        typer.Option("--role-map", help="GROUP=ROLE, repeatable (ROLE: admin, member, customer).", metavar="PAIR"),
    ] = None,
) -> None:
    """Accept tokens from the tenant's identity provider (then run 'oidc check')."""

    async def go(store: Store, settings: Settings) -> None:
        record = await store.tenant(tenant).set_oidc(
            issuer,
            audience,
            jwks_url=jwks_url,
            customer_claim=customer_claim,
            roles_claim=roles_claim,
            role_map=_role_map(role_map or []),
        )
        typer.echo(f"Tenant '{tenant}' accepts tokens from {record.issuer} for audience {record.audience}.")
        typer.echo(f"Check it: {msplex_command(f'oidc check --tenant {tenant}')}")

    run_with_store(go)


@app.command("show", cls=Command)
def oidc_show(tenant: TenantOpt) -> None:
    """Show the tenant's identity provider settings."""

    async def go(store: Store, settings: Settings) -> None:
        record = await store.tenant(tenant).get_oidc()
        typer.echo(_show(record) if record else f"Tenant '{tenant}' has no identity provider.")

    run_with_store(go)


@app.command("remove", cls=Command)
def oidc_remove(tenant: TenantOpt) -> None:
    """Stop accepting the tenant's identity provider tokens."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).remove_oidc()
        typer.echo(f"Tenant '{tenant}' no longer accepts tokens from its identity provider.")

    run_with_store(go)


@app.command("check", cls=Command)
def oidc_check(
    tenant: TenantOpt,
    token: Annotated[
        str | None, typer.Option(help="A token to check against it ('-' reads stdin).", metavar="JWT")
    ] = None,
) -> None:
    """Check the provider from here: discovery, keys, clock, and a token if given. Exit 1 on a problem."""
    raw = sys.stdin.readline().strip() if token == "-" else token
    failed = False

    async def go(store: Store, settings: Settings) -> None:
        nonlocal failed
        record = await store.tenant(tenant).get_oidc()
        if record is None:
            raise CliError(f"tenant '{tenant}' has no identity provider; set one: {msplex_command('oidc set --help')}")
        try:
            provider = provider_of(record)
        except ValueError as exc:
            raise CliError(f"the stored settings cannot be used ({exc}); fix them with oidc set") from None
        async with httpx.AsyncClient(timeout=5.0) as http:
            findings = await diagnose(provider, http, raw)
        typer.echo(render_findings(findings))
        failed = any(not f.ok for f in findings)

    run_with_store(go)
    if failed:
        fail("the identity provider check found problems (the FAIL lines above)")
