"""``/admin/v1/plans`` and ``/admin/v1/tenants/{tenant}/subscription``: entitlements (``msplex plan``,
``msplex subscription``).

Plans are the platform operator's (shared by tenants), so every plan route is
the operator's. A tenant's subscription is tenant-scoped: its own admin may
read it (plan, status, and why calls are refused if they are), but only the
operator sets or removes it (a tenant granting itself a plan would be billing
fraud). Another tenant's path is the same 404 as a missing tenant's, the
operator check coming after the tenant scope. A change reaches every replica
with the next control-plane poll.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import Field

from msplex.admin.auth import Admin, Context, Operator, TenantScope
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.entitlements import compile_entitlement, refusal
from msplex.store.records import PlanRecord, SubscriptionRecord, SubscriptionStatus

__all__ = ["plans", "subscriptions"]

plans = APIRouter(prefix="/admin/v1/plans", tags=["plans"], responses=PROBLEM_RESPONSES)
subscriptions = APIRouter(
    prefix="/admin/v1/tenants/{tenant}/subscription", tags=["subscriptions"], responses=PROBLEM_RESPONSES
)

Overage = Literal["allowed", "denied"]
_CONNECTORS = "Vendor kinds (halopsa, hudu, ...) and upstream names the plan entitles; '*': all of them."


class PlanIn(Input):
    name: str
    connectors: list[str] = Field(description=_CONNECTORS)
    calls_per_month: int | None = Field(default=None, ge=0, description="Monthly call allowance; null: none.")
    overage: Overage = "denied"


class PlanChange(Input):
    connectors: list[str] | None = Field(default=None, description=_CONNECTORS)
    calls_per_month: int | None = Field(default=None, ge=0)
    unlimited: bool = Field(default=False, description="Remove the monthly call allowance.")
    overage: Overage | None = None


class PlanOut(Output):
    name: str
    connectors: list[str]
    calls_per_month: int | None
    overage: Overage
    created_at: datetime
    updated_at: datetime


class SubscriptionIn(Input):
    plan: str | None = Field(default=None, description="The plan's name (required for a new subscription).")
    status: SubscriptionStatus | None = Field(default=None, description="Required for a new subscription.")
    grace_days: int | None = Field(default=None, ge=0, le=366, description="Days a past_due one is still served.")
    trial_ends_at: datetime | None = Field(default=None, description="Required while trialing.")


class SubscriptionOut(Output):
    tenant: str
    plan: str
    status: SubscriptionStatus
    grace_days: int
    trial_ends_at: datetime | None
    past_due_since: datetime | None
    served_until: datetime | None
    """When a trialing or past-due subscription stops being served."""
    refused: str | None
    """Why the tenant's calls are refused now, and what to do; ``null``: they are served."""
    updated_at: datetime


def _plan(p: PlanRecord) -> PlanOut:
    return PlanOut(
        name=p.name, connectors=list(p.connectors), calls_per_month=p.calls_per_month, overage=p.overage,
        created_at=p.created_at, updated_at=p.updated_at,
    )  # fmt: skip


async def _subscription(scope: TenantScope, sub: SubscriptionRecord) -> SubscriptionOut:
    plan = await scope.context.store.plans.get(sub.plan)
    entitlement = compile_entitlement(scope.tenant, sub, plan, required=scope.context.settings.require_subscription)
    until = None
    if sub.status == "trialing":
        until = sub.trial_ends_at
    elif sub.status == "past_due" and sub.past_due_since is not None:
        until = sub.past_due_since + timedelta(days=sub.grace_days)
    return SubscriptionOut(
        tenant=scope.tenant.slug, plan=sub.plan, status=sub.status, grace_days=sub.grace_days,
        trial_ends_at=sub.trial_ends_at, past_due_since=sub.past_due_since, served_until=until,
        refused=refusal(entitlement, time.time()), updated_at=sub.updated_at,
    )  # fmt: skip


@plans.get("", summary="List the plans (operator)")
async def list_plans(principal: Operator, ctx: Context) -> list[PlanOut]:
    return [_plan(p) for p in await ctx.store.plans.list()]


@plans.post("", status_code=201, summary="Create a plan (operator)")
async def create_plan(body: PlanIn, principal: Operator, ctx: Context, response: Response) -> PlanOut:
    plan = await ctx.store.plans.create(
        body.name, body.connectors, calls_per_month=body.calls_per_month, overage=body.overage
    )
    response.headers["Location"] = f"/admin/v1/plans/{plan.name}"
    return _plan(plan)


@plans.get("/{plan}", summary="Show a plan (operator)")
async def get_plan(plan: str, principal: Operator, ctx: Context) -> PlanOut:
    return _plan(await ctx.store.plans.get(plan))


@plans.patch("/{plan}", summary="Change a plan; its tenants get the change at once (operator)")
async def update_plan(plan: str, body: PlanChange, principal: Operator, ctx: Context) -> PlanOut:
    if body.unlimited and body.calls_per_month is not None:
        raise Problem(422, "give calls_per_month or unlimited, not both", field="unlimited")
    changed = await ctx.store.plans.update(
        plan, connectors=body.connectors, calls_per_month=body.calls_per_month, unlimited=body.unlimited,
        overage=body.overage,
    )  # fmt: skip
    return _plan(changed)


@plans.delete("/{plan}", status_code=204, summary="Remove a plan no tenant subscribes to (operator)")
async def remove_plan(plan: str, principal: Operator, ctx: Context) -> Response:
    await ctx.store.plans.remove(plan)
    return Response(status_code=204)


@subscriptions.get("", summary="Show the tenant's subscription, and whether its calls are served")
async def show_subscription(scope: Admin) -> SubscriptionOut:
    sub = await scope.store.subscription.get()
    if sub is None:
        raise Problem(404, f"tenant '{scope.tenant.slug}' has no subscription")
    return await _subscription(scope, sub)


@subscriptions.put("", summary="Create or change the tenant's subscription (operator)")
async def set_subscription(scope: Admin, principal: Operator, body: SubscriptionIn) -> SubscriptionOut:
    ends = body.trial_ends_at
    if ends is not None and ends.tzinfo is None:
        ends = ends.replace(tzinfo=UTC)  # a time without an offset is UTC, as in the CLI
    sub = await scope.store.subscription.set(
        plan=body.plan, status=body.status, grace_days=body.grace_days, trial_ends_at=ends
    )
    return await _subscription(scope, sub)


@subscriptions.delete("", status_code=204, summary="Remove the tenant's subscription (operator)")
async def remove_subscription(scope: Admin, principal: Operator) -> Response:
    await scope.store.subscription.remove()
    return Response(status_code=204)
