"""What each tenant's subscription entitles it to, compiled from the control-plane snapshot (chain stages 4 to 6).

``Entitlements`` is applied every snapshot (``Gateway.apply``) and compiles a
tenant's ``Entitlement`` on first use, then keeps it until the next snapshot: a
call in steady state reads a dict, never the database. A plan entitles
connectors by name: a vendor connector's target by its vendor kind
(``Target.vendor``: ``halopsa``), an upstream MCP server's by its instance name;
``*`` entitles every connector.

A tenant with no subscription is not metered: every check passes, unless the
deployment sets ``MSPLEX_REQUIRE_SUBSCRIPTION=true``, when it is refused until
the operator gives it one. (A self-hosted gateway serving one MSP has no
billing to enforce, and tenants made before plans existed keep working.)

Status rules, evaluated at call time against the wall clock: ``active`` is
served; ``trialing`` until the trial ends; ``past_due`` for its grace period
(days, from when it became past due); ``suspended`` and ``cancelled`` never.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from msplex.store.records import Overage, QuotaRecord, SubscriptionStatus

if TYPE_CHECKING:
    from collections.abc import Mapping

    from msplex.call import Target
    from msplex.store.records import ControlSnapshot, PlanRecord, SubscriptionRecord, TenantRecord

__all__ = ["PLAN_QUOTA", "Entitlement", "Entitlements", "compile_entitlement", "entitles", "plan_quota", "refusal"]

_DAY = 86400.0
PLAN_QUOTA = "plan-allowance"
"""The id of the quota a plan's monthly allowance becomes: one counter per tenant and month, kept when the
tenant changes plans within the month."""


@dataclass(frozen=True, slots=True)
class Entitlement:
    """One tenant's subscription as the chain checks it. ``plan is None``: the tenant has no subscription."""

    tenant: str
    """The tenant's slug (for messages)."""
    plan: str | None
    status: SubscriptionStatus | None
    connectors: frozenset[str]
    everything: bool
    """``*``: every connector (or no subscription, when none is required)."""
    calls_per_month: int | None = None
    overage: Overage = "allowed"
    ends_at: float | None = None
    """Unix time after which a ``trialing`` or ``past_due`` subscription is refused."""
    required: bool = False
    """No subscription, and the deployment requires one."""

    def entitles(self, target: Target) -> bool:
        return self.everything or (target.vendor or target.instance) in self.connectors


def entitles(entitlement: Entitlement | None, target: Target) -> bool:
    return entitlement is None or entitlement.entitles(target)


def _when(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))


def refusal(entitlement: Entitlement, now: float) -> str | None:
    """Why the tenant's calls are refused at ``now`` (and what to do), or ``None`` when they are served."""
    slug, status = entitlement.tenant, entitlement.status
    fix = f"the gateway's operator can run `msplex subscription set --tenant {slug} --status active`"
    if status is None:
        if not entitlement.required:
            return None
        return (
            f"tenant '{slug}' has no subscription, and this gateway requires one; the operator subscribes it with "
            f"`msplex subscription set --tenant {slug} --plan PLAN --status active`"
        )
    if status == "active":
        return None
    if status in ("trialing", "past_due") and (entitlement.ends_at is None or now < entitlement.ends_at):
        return None
    if status == "trialing":
        assert entitlement.ends_at is not None
        return (
            f"the trial of tenant '{slug}' (plan '{entitlement.plan}') ended on {_when(entitlement.ends_at)}; "
            f"subscribe to keep using it: {fix}"
        )
    if status == "past_due":
        assert entitlement.ends_at is not None
        return (
            f"the subscription of tenant '{slug}' is past due and its grace period ended on "
            f"{_when(entitlement.ends_at)}; settle the outstanding invoice, then {fix}"
        )
    if status == "suspended":
        return f"the subscription of tenant '{slug}' is suspended; calls are refused until it is reactivated: {fix}"
    return (
        f"the subscription of tenant '{slug}' was cancelled; subscribe again to use it: the operator can run "
        f"`msplex subscription set --tenant {slug} --plan PLAN --status active`"
    )


def compile_entitlement(
    tenant: TenantRecord, subscription: SubscriptionRecord | None, plan: PlanRecord | None, *, required: bool
) -> Entitlement:
    if subscription is None or plan is None:
        return Entitlement(tenant.slug, None, None, frozenset(), everything=not required, required=required)
    ends_at: float | None = None
    if subscription.status == "trialing" and subscription.trial_ends_at is not None:
        ends_at = subscription.trial_ends_at.timestamp()
    elif subscription.status == "past_due" and subscription.past_due_since is not None:
        ends_at = subscription.past_due_since.timestamp() + subscription.grace_days * _DAY
    return Entitlement(
        tenant.slug,
        plan.name,
        subscription.status,
        frozenset(plan.connectors),
        everything="*" in plan.connectors,
        calls_per_month=plan.calls_per_month,
        overage=plan.overage,
        ends_at=ends_at,
    )


def plan_quota(snapshot: ControlSnapshot, tenant_id: str) -> tuple[QuotaRecord, ...]:
    """The tenant's plan allowance (``--calls-per-month``) as a tenant-wide monthly quota, hard unless the plan
    allows overage; stage 9 counts it with the tenant's own quotas. None without a subscription or allowance."""
    subscription = snapshot.subscriptions.get(tenant_id)
    plan = snapshot.plans.get(subscription.plan_id) if subscription is not None else None
    if plan is None or plan.calls_per_month is None:
        return ()
    overage = plan.overage == "allowed"
    return (QuotaRecord(PLAN_QUOTA, f"plan {plan.name}", "tenant", None, "month", plan.calls_per_month, overage),)


class Entitlements:
    """Every tenant's ``Entitlement`` as of the last snapshot, compiled per tenant on first use."""

    def __init__(self, *, require_subscription: bool = False) -> None:
        self.require_subscription = require_subscription
        self._tenants: Mapping[str, TenantRecord] = MappingProxyType({})
        self._plans: Mapping[str, PlanRecord] = MappingProxyType({})
        self._subscriptions: Mapping[str, SubscriptionRecord] = MappingProxyType({})
        self._compiled: dict[str, Entitlement] = {}

    def apply(self, snapshot: ControlSnapshot) -> None:
        """Take a new snapshot: what was compiled from the last one is dropped (its version is gone)."""
        self._tenants = snapshot.tenants_by_id
        self._plans = snapshot.plans
        self._subscriptions = snapshot.subscriptions
        self._compiled = {}

    def of(self, tenant_id: str) -> Entitlement | None:
        """The tenant's entitlement; ``None`` for a tenant the snapshot does not know."""
        found = self._compiled.get(tenant_id)
        if found is not None:
            return found
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            return None
        subscription = self._subscriptions.get(tenant_id)
        plan = self._plans.get(subscription.plan_id) if subscription is not None else None
        found = self._compiled[tenant_id] = compile_entitlement(
            tenant, subscription, plan, required=self.require_subscription
        )
        return found
