"""``msplex policy`` and ``msplex quota``: a tenant's tool-policy rules (stage 8) and quotas (stage 9).

Rules are tried by priority (lowest first), then in the order added; the first
that matches decides (``msplex.policy``). ``policy test`` evaluates a
hypothetical call and prints the deciding rule. Changes reach running gateways
through the control-plane version, like every other configuration.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from msplex.cli._run import fail, msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.policy.trial import trial
from msplex.quota import describe
from msplex.settings import Settings
from msplex.store import Store
from msplex.store.records import AUDIENCES, POLICY_EFFECTS, QUOTA_SCOPES, QUOTA_WINDOWS, PolicyRuleRecord

__all__ = ["policy_app", "quota_app"]

policy_app = group("Tool policy and RBAC: rules that allow, deny or require approval for calls.")
quota_app = group("Quotas: limits on calls per tenant, customer, caller or tool, hard or with overage.")

NameArg = Annotated[str, typer.Argument(help="The rule's name (a slug).", metavar="NAME")]
QuotaArg = Annotated[str, typer.Argument(help="The quota's name (a slug).", metavar="NAME")]


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{option} must be a JSON object ({exc.msg} at character {exc.pos})")
    if not isinstance(value, dict):
        fail(f'{option} must be a JSON object, like \'{{"customer_id": "c-1"}}\'')
    return value


def _hints(rule: PolicyRuleRecord) -> str:
    hints = []
    if rule.read_only is not None:
        hints.append("read-only" if rule.read_only else "not read-only")
    if rule.destructive is not None:
        hints.append("destructive" if rule.destructive else "not destructive")
    return ",".join(hints) or "-"


@policy_app.command("add", cls=Command)
def policy_add(
    name: NameArg,
    tenant: TenantOpt,
    effect: Annotated[str, typer.Option(help=f"One of {', '.join(POLICY_EFFECTS)}.", metavar="EFFECT")],
    priority: Annotated[int, typer.Option(help="Lower is tried first (ties: the older rule).", metavar="N")] = 100,
    audience: Annotated[
        list[str] | None, typer.Option(help=f"Match these audiences ({', '.join(AUDIENCES)}); repeat.", metavar="A")
    ] = None,
    customer: Annotated[list[str] | None, typer.Option(help="Match calls for this customer; repeat.")] = None,
    tool: Annotated[
        list[str] | None, typer.Option(help="Match public names by glob, e.g. 'ev__*'; repeat.", metavar="GLOB")
    ] = None,
    read_only: Annotated[
        bool | None, typer.Option("--read-only/--not-read-only", help="Match tools (not) annotated readOnlyHint.")
    ] = None,
    destructive: Annotated[
        bool | None,
        typer.Option("--destructive/--not-destructive", help="Match tools (not) annotated destructiveHint."),
    ] = None,
    when: Annotated[
        str | None,
        typer.Option(
            help="A CEL condition over args, name, kind, audience, customer, principal, annotations; "
            "e.g. 'args.customer_id != customer.id'.",
            metavar="CEL",
        ),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="What a denied caller is told.", metavar="TEXT")] = None,
) -> None:
    """Add a rule: every condition given must hold for it to match; the first match decides."""

    async def go(store: Store, settings: Settings) -> None:
        rule = await store.tenant(tenant).policies.add_rule(
            name, effect, priority=priority, audiences=audience or (), customers=customer or (), tools=tool or (),
            read_only=read_only, destructive=destructive, condition=when, reason=reason,
        )  # fmt: skip
        typer.echo(f"Added rule '{rule.name}' ({rule.effect}, priority {rule.priority}) to tenant '{tenant}'.")
        typer.echo(f"Try it: {msplex_command(f'policy test --tenant {tenant} TOOL --audience member')}")

    run_with_store(go)


@policy_app.command("list", cls=Command)
def policy_list(tenant: TenantOpt) -> None:
    """List a tenant's rules in the order they are tried."""

    async def go(store: Store, settings: Settings) -> None:
        scope = store.tenant(tenant).policies
        rules = await scope.list_rules()
        slugs = await scope.customer_slugs()
        record = await store.get_tenant(tenant)
        rows = [
            [
                r.name, str(r.priority), r.effect, ",".join(r.audiences) or "*",
                ",".join(slugs.get(c, c) for c in r.customers) or "*", ",".join(r.tools) or "*", _hints(r),
                r.condition or "-",
            ]
            for r in rules
        ]  # fmt: skip
        header = ["NAME", "PRIORITY", "EFFECT", "AUDIENCES", "CUSTOMERS", "TOOLS", "HINTS", "WHEN"]
        if record.read_only:
            typer.echo(f"Tenant '{tenant}' is read-only: only tools annotated readOnlyHint run, before any rule.")
        typer.echo(table(rows, header) if rows else f"No policy rules in tenant '{tenant}'.")

    run_with_store(go)


@policy_app.command("remove", cls=Command)
def policy_remove(name: NameArg, tenant: TenantOpt) -> None:
    """Remove a rule."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).policies.remove_rule(name)
        typer.echo(f"Removed rule '{name}' from tenant '{tenant}'.")

    run_with_store(go)


@policy_app.command("test", cls=Command)
def policy_test(
    name: Annotated[str, typer.Argument(help="The public name (or URI) called.", metavar="TOOL")],
    tenant: TenantOpt,
    audience: Annotated[str, typer.Option(help=f"The caller's audience: {', '.join(AUDIENCES)}.")] = "member",
    customer: Annotated[str | None, typer.Option(help="The customer the call is bound to (slug).")] = None,
    args: Annotated[str | None, typer.Option(help="The arguments, a JSON object.", metavar="JSON")] = None,
    kind: Annotated[str, typer.Option(help="tool, prompt or resource.")] = "tool",
    annotations: Annotated[
        str | None, typer.Option(help="The tool's annotations (JSON); default: from the catalogue.", metavar="JSON")
    ] = None,
) -> None:
    """Evaluate a hypothetical call as stage 8 would, and print the deciding rule."""
    arguments = _json_object(args, "--args")
    hints = _json_object(annotations, "--annotations")

    async def go(store: Store, settings: Settings) -> None:
        result = await trial(
            store, tenant, name, kind=kind, audience=audience, customer=customer, arguments=arguments, annotations=hints
        )
        typer.echo(result.explain())

    run_with_store(go)


@quota_app.command("set", cls=Command)
def quota_set(
    name: QuotaArg,
    tenant: TenantOpt,
    limit: Annotated[int, typer.Option(help="Calls allowed per window.", metavar="N")],
    window: Annotated[str, typer.Option(help=f"One of {', '.join(QUOTA_WINDOWS)} (UTC; month: billing month).")],
    scope: Annotated[str, typer.Option(help=f"One of {', '.join(QUOTA_SCOPES)}.")] = "tenant",
    customer: Annotated[str | None, typer.Option(help="--scope customer: this customer (default: each).")] = None,
    principal: Annotated[
        str | None, typer.Option(help="--scope principal: this caller, e.g. token:ID (default: each).", metavar="KEY")
    ] = None,
    tool: Annotated[
        str | None, typer.Option(help="--scope tool: tools matching this glob (default: each tool).", metavar="GLOB")
    ] = None,
    overage: Annotated[
        bool, typer.Option("--overage/--hard", help="Past the limit: let calls through as overage, or refuse them.")
    ] = False,
) -> None:
    """Create or replace a quota."""
    subjects = {"customer": customer, "principal": principal, "tool": tool}
    given = [option for option, value in subjects.items() if value is not None]
    if given and given != [scope]:
        fail(f"--{given[0]} goes with --scope {given[0]}")

    async def go(store: Store, settings: Settings) -> None:
        quota = await store.tenant(tenant).policies.set_quota(
            name, scope=scope, window=window, limit=limit, subject=subjects.get(scope), overage=overage
        )
        mode = "overage allowed" if quota.overage else "hard"
        slugs = await store.tenant(tenant).policies.customer_slugs()
        typer.echo(f"Quota '{quota.name}' of tenant '{tenant}': {describe(quota, slugs)} ({mode}).")

    run_with_store(go)


@quota_app.command("list", cls=Command)
def quota_list(tenant: TenantOpt) -> None:
    """List a tenant's quotas."""

    async def go(store: Store, settings: Settings) -> None:
        scope = store.tenant(tenant).policies
        slugs = await scope.customer_slugs()
        rows = [
            [q.name, q.scope, str(q.limit), q.window, "overage" if q.overage else "hard", describe(q, slugs)]
            for q in await scope.list_quotas()
        ]
        header = ["NAME", "SCOPE", "LIMIT", "WINDOW", "PAST LIMIT", "LIMITS"]
        typer.echo(table(rows, header) if rows else f"No quotas in tenant '{tenant}'.")

    run_with_store(go)


@quota_app.command("remove", cls=Command)
def quota_remove(name: QuotaArg, tenant: TenantOpt) -> None:
    """Remove a quota (its counters lapse with their window)."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).policies.remove_quota(name)
        typer.echo(f"Removed quota '{name}' from tenant '{tenant}'.")

    run_with_store(go)
