"""``msplex tool``: the per-item ACL. Every item starts off; a tenant enables what each audience may use."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Annotated, cast

import typer

from msplex.access import Access, Item, Viewer
from msplex.cli._catalogue import list_catalogue
from msplex.cli._run import CliError, fail, msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.entitlements import Entitlement, compile_entitlement
from msplex.entitlements import refusal as why_refused
from msplex.policy import Policy
from msplex.settings import Settings
from msplex.store import InvalidInput, NotFound, Store
from msplex.store.records import AUDIENCES, ITEM_KINDS, ROLES, Audience

__all__ = ["Effective", "app", "effective_items"]

app = group("Which catalogue items a tenant's audiences may see and call (all off until enabled).")

Kind = Annotated[str, typer.Option("--kind", help="tool, prompt, resource, or all of them.", metavar="KIND")]
Patterns = Annotated[list[str], typer.Argument(help="Globs on public names, e.g. 'ev__*'.", metavar="PATTERN...")]


def _audiences(text: str) -> list[str]:
    chosen = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in AUDIENCES]
    if unknown or not chosen:
        raise CliError(f"--audience takes a comma-separated list of {', '.join(AUDIENCES)}")
    return chosen


def _kinds(kind: str) -> tuple[str, ...]:
    if kind == "all":
        return ITEM_KINDS
    if kind not in ITEM_KINDS:
        fail(f"--kind must be one of {', '.join(ITEM_KINDS)} or all")
    return (kind,)


def _render(
    items: list[Item], failures: dict[str, str], *, effective: bool, withheld: dict[str, str] | None = None
) -> str:
    header = ["KIND", "NAME", "SOURCE", "STATE", "AUDIENCES", "RULE"]
    rows = [
        [
            i.kind,
            i.public,
            i.source,
            "on" if i.enabled else "off",
            ",".join(i.audiences) or "-",
            i.rule or "(default off)",
        ]
        for i in items
        if not effective or i.visible
    ]
    lines = [table(rows, header) if rows else ("Nothing is visible." if effective else "The catalogue is empty.")]
    lines += [f"(upstream '{name}' could not be listed: {why})" for name, why in sorted(failures.items())]
    lines += [f"(connector '{name}' is {why})" for name, why in sorted((withheld or {}).items())]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Effective:
    """What one identity sees on one endpoint: ``tool effective`` and the admin API's effective-tools."""

    viewer: Viewer | None
    """``None`` when ``refusal`` says why nothing is visible."""
    items: list[Item]
    """Every item of the catalogue, ``visible`` set for the viewer."""
    failures: dict[str, str]
    """Upstream name -> why it could not be listed."""
    refusal: str | None = None
    withheld: dict[str, str] = field(default_factory=dict)
    """Connector instance -> why its items are refused although the rules allow them (the plan)."""


async def effective_items(
    store: Store,
    tenant: str,
    *,
    token_id: str | None = None,
    role: str | None = None,
    customer: str | None = None,
    entity: str | None = None,
    require_subscription: bool = False,
) -> Effective:
    """The gateway's decision for one identity: a token (id or prefix), else a ``role`` (an OIDC subject's;
    with ``customer``, a customer identity), else anonymous; on ``entity``'s endpoint when given. What a
    list would show it: the item rules, then the tenant's tool policy (``Access.listed``).
    ``NotFound`` (kind ``token``) for an unknown token, ``InvalidInput`` for an unknown role."""
    scope = store.tenant(tenant)
    audience: Audience = "public"
    tools: tuple[str, ...] | None = None
    bound = customer
    if token_id is not None:
        key = token_id.removesuffix("…").removesuffix("...")
        tokens = [t for t in await scope.list_tokens() if key in (t.id, t.prefix)]
        if len(tokens) != 1:
            raise NotFound("token", token_id, tenant=tenant)
        audience, tools, bound = tokens[0].role or "admin", tokens[0].tools, tokens[0].customer
    elif role is not None:
        if role not in ROLES:
            raise InvalidInput("role", f"'{role}' is not one of {', '.join(ROLES)}")
        audience = "customer" if customer else cast(Audience, role)
    selection: tuple[str, ...] | None = None
    if entity is not None:
        record = await scope.get_entity(entity)
        customers = {c.id: c.slug for c in await scope.list_customers()}
        if record.customer_id is not None and (audience != "customer" or bound != customers.get(record.customer_id)):
            refusal = f"Entity '{entity}' admits only its customer's identities: nothing is visible."
            return Effective(None, [], {}, refusal)
        selection = record.tools
    listed = await list_catalogue(store, tenant)
    tenant_record = await store.get_tenant(tenant)
    policy = Policy(await scope.policies.list_rules(), read_only=tenant_record.read_only)
    access = Access(await scope.list_rules(), policy)
    customer_id = None
    if bound is not None:
        customer_id = next((c.id for c in await scope.list_customers() if c.slug == bound), None)
    viewer = Viewer(audience, tools, selection)
    entitlement = await _entitlement(store, tenant, require_subscription)
    refused = why_refused(entitlement, time.time())
    if refused is not None:
        return Effective(
            viewer,
            access.effective(listed.catalogue, viewer, lambda _: False, customer_id=customer_id),
            listed.failures,
            refused,
        )
    admits = None if entitlement.everything else entitlement.entitles
    withheld = {
        target.instance: f"not part of plan '{entitlement.plan}': its items are refused"
        for entries in listed.catalogue.entries.values()
        for _, target in entries
        if admits is not None and not admits(target)
    }
    return Effective(
        viewer,
        access.effective(listed.catalogue, viewer, admits, customer_id=customer_id),
        listed.failures,
        withheld=withheld,
    )


async def _entitlement(store: Store, tenant: str, required: bool) -> Entitlement:
    """The tenant's entitlement as the gateway compiles it from its snapshot."""
    record = await store.get_tenant(tenant)
    subscription = await store.tenant(tenant).subscription.get()
    plan = await store.plans.get(subscription.plan) if subscription is not None else None
    return compile_entitlement(record, subscription, plan, required=required)


@app.command("list", cls=Command)
def tool_list(tenant: TenantOpt) -> None:
    """Every item of the tenant's catalogue with its state, audiences and source (lists the upstreams now)."""

    async def go(store: Store, settings: Settings) -> None:
        listed = await list_catalogue(store, tenant)
        access = Access(await store.tenant(tenant).list_rules())
        typer.echo(_render(access.effective(listed.catalogue, None), listed.failures, effective=False))

    run_with_store(go)


@app.command("enable", cls=Command)
def tool_enable(
    patterns: Patterns,
    tenant: TenantOpt,
    audience: Annotated[
        str, typer.Option(help="Comma-separated: admin, member, customer, public.", metavar="LIST")
    ] = "admin,member",
    kind: Kind = "tool",
    yes: Annotated[bool, typer.Option("--yes", help="Confirm making items public.")] = False,
) -> None:
    """Enable the matching items for these audiences (a later rule overrides an earlier one)."""
    kinds = _kinds(kind)
    audiences = _audiences(audience)
    if "public" in audiences and not yes:
        warning = (
            f"'public' makes every {kind} matching {' '.join(patterns)} in tenant '{tenant}' callable by any "
            "unauthenticated client (where the tenant or an entity admits anonymous callers)."
        )
        if not sys.stdin.isatty():
            fail(f"{warning} Repeat with --yes to confirm")
        if not typer.confirm(f"{warning} Continue?", default=False):
            fail("nothing changed")

    async def go(store: Store, settings: Settings) -> None:
        scope = store.tenant(tenant)
        for item_kind in kinds:
            for pattern in patterns:
                await scope.set_rule(item_kind, pattern, enabled=True, audiences=audiences)
        what = f"{'/'.join(kinds)} items matching {', '.join(patterns)}"
        typer.echo(f"Enabled {what} for {', '.join(audiences)} in tenant '{tenant}'.")

    run_with_store(go)


@app.command("disable", cls=Command)
def tool_disable(patterns: Patterns, tenant: TenantOpt, kind: Kind = "tool") -> None:
    """Disable the matching items for everyone."""
    kinds = _kinds(kind)

    async def go(store: Store, settings: Settings) -> None:
        scope = store.tenant(tenant)
        for item_kind in kinds:
            for pattern in patterns:
                await scope.set_rule(item_kind, pattern, enabled=False)
        typer.echo(f"Disabled {'/'.join(kinds)} items matching {', '.join(patterns)} in tenant '{tenant}'.")

    run_with_store(go)


@app.command("effective", cls=Command)
def tool_effective(
    tenant: TenantOpt,
    token_id: Annotated[str | None, typer.Option(help="As this token (id or prefix).", metavar="ID")] = None,
    subject: Annotated[str | None, typer.Option(help="As an OIDC subject with --role.", metavar="SUB")] = None,
    role: Annotated[str | None, typer.Option(help="admin, member or customer.", metavar="ROLE")] = None,
    customer: Annotated[str | None, typer.Option(help="The customer of a customer identity.", metavar="SLUG")] = None,
    anonymous: Annotated[bool, typer.Option("--anonymous", help="As an anonymous client.")] = False,
    entity: Annotated[str | None, typer.Option(help="On this entity's endpoint.", metavar="SLUG")] = None,
) -> None:
    """What one identity sees and may call on one endpoint: the same decision the gateway makes."""
    chosen = sum(x for x in (token_id is not None, subject is not None, anonymous))
    if chosen != 1:
        fail("give exactly one of --token-id ID, --subject SUB --role ROLE, or --anonymous")
    if subject is not None and role is None:
        fail("--subject needs --role admin|member|customer")

    async def go(store: Store, settings: Settings) -> None:
        if token_id is None and role is not None and role not in ("admin", "member", "customer"):
            raise CliError("--role must be admin, member or customer")
        try:
            result = await effective_items(
                store,
                tenant,
                token_id=token_id,
                role=role,
                customer=customer,
                entity=entity,
                require_subscription=settings.require_subscription,
            )
        except NotFound as exc:
            if exc.kind != "token":
                raise
            raise CliError(
                f"no token '{token_id}' in tenant '{tenant}'; see {msplex_command(f'token list -t {tenant}')}"
            ) from None
        if result.refusal is not None:
            typer.echo(result.refusal)
            return
        typer.echo(_render(result.items, result.failures, effective=True, withheld=result.withheld))

    run_with_store(go)
