"""``msplex plan`` and ``msplex subscription``: what each tenant is entitled to (chain stages 4 to 6).

Plans are the platform operator's: the connectors they entitle (vendor kinds
such as ``halopsa``, upstream names, or ``*``), a monthly call allowance and
whether calls past it are allowed as overage. Each tenant has at most one
subscription: its plan and billing status. A running gateway applies a change
within a control-plane poll (about a second). A tenant without a subscription
is not metered unless the gateway runs with ``MSPLEX_REQUIRE_SUBSCRIPTION=true``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer

from msplex.cli._run import CliError, fail, msplex_command, run_with_store
from msplex.cli._typer import Command, TenantOpt, group, table
from msplex.settings import Settings
from msplex.store import Store
from msplex.store.records import SUBSCRIPTION_STATUSES, PlanRecord, SubscriptionRecord

__all__ = ["parse_trial_end", "plan_app", "render_subscription", "subscription_app"]

plan_app = group("Plans: the connectors and monthly calls a subscription entitles (the platform operator's).")
subscription_app = group("A tenant's subscription: its plan and billing status.")

NameArg = Annotated[str, typer.Argument(help="The plan's name: a-z, 0-9, '-'.", metavar="NAME")]
Connectors = Annotated[
    str | None,
    typer.Option(help="Comma-separated vendor kinds and upstream names, or '*' for all.", metavar="LIST"),
]
Calls = Annotated[
    int | None, typer.Option("--calls-per-month", help="Monthly call allowance (default: none).", metavar="N", min=0)
]
_OVERAGE = "allowed or denied: calls past the allowance."
OverageOpt = Annotated[str | None, typer.Option(help=_OVERAGE, metavar="RULE")]


def _split(connectors: str) -> list[str]:
    names = [c.strip() for c in connectors.split(",") if c.strip()]
    if not names:
        raise CliError("--connectors takes a comma-separated list of vendor kinds and upstream names, or '*'")
    return names


def _allowance(plan: PlanRecord) -> str:
    if plan.calls_per_month is None:
        return "unlimited"
    return f"{plan.calls_per_month:,} (overage {plan.overage})"


@plan_app.command("create", cls=Command)
def plan_create(
    name: NameArg,
    connectors: Annotated[
        str, typer.Option(help="Comma-separated vendor kinds and upstream names, or '*' for all.", metavar="LIST")
    ],
    calls_per_month: Calls = None,
    overage: Annotated[str, typer.Option(help=_OVERAGE, metavar="RULE")] = "denied",
) -> None:
    """Create a plan."""

    async def go(store: Store, settings: Settings) -> None:
        plan = await store.plans.create(name, _split(connectors), calls_per_month=calls_per_month, overage=overage)
        typer.echo(f"Created plan '{plan.name}': connectors {', '.join(plan.connectors)}; calls {_allowance(plan)}.")
        hint = f"subscription set --tenant TENANT --plan {plan.name} --status active"
        typer.echo(f"Subscribe a tenant: {msplex_command(hint)}")

    run_with_store(go)


@plan_app.command("list", cls=Command)
def plan_list() -> None:
    """List the plans and how many tenants each has."""

    async def go(store: Store, settings: Settings) -> None:
        rows = [
            [p.name, ", ".join(p.connectors), _allowance(p), str(len(await store.plans.subscribers(p.name)))]
            for p in await store.plans.list()
        ]
        empty = f"No plans. Create one: {msplex_command('plan create NAME --connectors halopsa,hudu')}"
        typer.echo(table(rows, ["NAME", "CONNECTORS", "CALLS PER MONTH", "TENANTS"]) if rows else empty)

    run_with_store(go)


@plan_app.command("update", cls=Command)
def plan_update(
    name: NameArg,
    connectors: Connectors = None,
    calls_per_month: Calls = None,
    unlimited: Annotated[bool, typer.Option("--unlimited", help="Remove the monthly call allowance.")] = False,
    overage: OverageOpt = None,
) -> None:
    """Change a plan; its tenants get the change within a second."""
    if unlimited and calls_per_month is not None:
        fail("give --calls-per-month N or --unlimited, not both")

    async def go(store: Store, settings: Settings) -> None:
        plan = await store.plans.update(
            name,
            connectors=_split(connectors) if connectors is not None else None,
            calls_per_month=calls_per_month,
            unlimited=unlimited,
            overage=overage,
        )
        typer.echo(f"Updated plan '{plan.name}': connectors {', '.join(plan.connectors)}; calls {_allowance(plan)}.")

    run_with_store(go)


@plan_app.command("remove", cls=Command)
def plan_remove(name: NameArg) -> None:
    """Remove a plan no tenant subscribes to."""

    async def go(store: Store, settings: Settings) -> None:
        await store.plans.remove(name)
        typer.echo(f"Removed plan '{name}'.")

    run_with_store(go)


def parse_trial_end(text: str) -> datetime:
    """``YYYY-MM-DD`` (the trial runs through that day, UTC) or an ISO 8601 time (UTC unless it says)."""
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day + timedelta(days=1), time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--trial-ends '{text}' is not a date; use YYYY-MM-DD or an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "-"


def render_subscription(tenant: str, sub: SubscriptionRecord, plan: PlanRecord) -> str:
    lines = [
        f"tenant:      {tenant}",
        f"plan:        {plan.name} (connectors {', '.join(plan.connectors)}; calls {_allowance(plan)})",
        f"status:      {sub.status}",
        f"grace:       {sub.grace_days} day{'s' if sub.grace_days != 1 else ''} when past due",
    ]
    if sub.trial_ends_at is not None:
        lines.append(f"trial ends:  {_iso(sub.trial_ends_at)}")
    if sub.past_due_since is not None:
        ends = sub.past_due_since + timedelta(days=sub.grace_days)
        lines.append(f"past due:    since {_iso(sub.past_due_since)}; served until {_iso(ends)}")
    lines.append(f"updated:     {_iso(sub.updated_at)}")
    return "\n".join(lines)


@subscription_app.command("set", cls=Command)
def subscription_set(
    tenant: TenantOpt,
    plan: Annotated[str | None, typer.Option(help="The plan's name.", metavar="PLAN")] = None,
    status: Annotated[str | None, typer.Option(help=f"{', '.join(SUBSCRIPTION_STATUSES)}.", metavar="STATUS")] = None,
    grace: Annotated[
        int | None, typer.Option(help="Days a past_due subscription is still served (default 7).", metavar="DAYS")
    ] = None,
    trial_ends: Annotated[
        str | None, typer.Option(help="When a trial ends: YYYY-MM-DD (through that day, UTC).", metavar="DATE")
    ] = None,
) -> None:
    """Create or change a tenant's subscription (a new one needs --plan and --status)."""
    if plan is None and status is None and grace is None and trial_ends is None:
        fail("give at least one of --plan, --status, --grace, --trial-ends")

    async def go(store: Store, settings: Settings) -> None:
        ends = parse_trial_end(trial_ends) if trial_ends is not None else None
        sub = await store.tenant(tenant).subscription.set(
            plan=plan, status=status, grace_days=grace, trial_ends_at=ends
        )
        typer.echo(render_subscription(tenant, sub, await store.plans.get(sub.plan)))

    run_with_store(go)


@subscription_app.command("show", cls=Command)
def subscription_show(tenant: TenantOpt) -> None:
    """Show a tenant's subscription."""

    async def go(store: Store, settings: Settings) -> None:
        sub = await store.tenant(tenant).subscription.get()
        if sub is None:
            metered = (
                "its calls are refused (MSPLEX_REQUIRE_SUBSCRIPTION is on)"
                if settings.require_subscription
                else "it is not metered: every connector, no allowance"
            )
            hint = msplex_command(f"subscription set --tenant {tenant} --plan PLAN --status active")
            typer.echo(f"Tenant '{tenant}' has no subscription; {metered}. Set one: {hint}")
            return
        typer.echo(render_subscription(tenant, sub, await store.plans.get(sub.plan)))

    run_with_store(go)


@subscription_app.command("remove", cls=Command)
def subscription_remove(tenant: TenantOpt) -> None:
    """Remove a tenant's subscription (it is then unmetered, or refused under MSPLEX_REQUIRE_SUBSCRIPTION)."""

    async def go(store: Store, settings: Settings) -> None:
        await store.tenant(tenant).subscription.remove()
        typer.echo(f"Removed the subscription of tenant '{tenant}'.")

    run_with_store(go)
