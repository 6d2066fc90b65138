"""``/admin/v1/tenants/{tenant}/policies``, ``.../quotas``, ``.../read-only``: stages 8 and 9's configuration
(``msplex policy``, ``msplex quota``, ``msplex tenant read-only``).

Tenant-scoped like every tenant route: a tenant admin reads and changes only its
own tenant's rules and quotas. Customers are named by slug. A rule whose CEL
condition does not compile is refused (422) with the compiler's message.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES
from msplex.admin.schemas import Input, Output
from msplex.policy.trial import trial
from msplex.quota import describe
from msplex.store.records import Audience, ItemKind, PolicyRuleRecord, QuotaRecord

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}", tags=["policy"], responses=PROBLEM_RESPONSES)

Effect = Literal["allow", "deny", "approve"]
Scope = Literal["tenant", "customer", "principal", "tool"]
Window = Literal["minute", "day", "month"]


class RuleIn(Input):
    name: str = Field(description="A slug; what denials name.")
    effect: Effect
    priority: int = Field(default=100, description="Lower is tried first; the first matching rule decides.")
    audiences: list[Audience] = Field(default_factory=list, description="Empty: any audience.")
    customers: list[str] = Field(default_factory=list, description="Customer slugs; empty: any.")
    tools: list[str] = Field(default_factory=list, description="Globs on public names; empty: any.")
    read_only: bool | None = Field(default=None, description="Match tools (not) annotated readOnlyHint.")
    destructive: bool | None = Field(default=None, description="Match tools (not) annotated destructiveHint.")
    condition: str | None = Field(default=None, description="CEL over args, name, kind, audience, customer, ...")
    reason: str | None = Field(default=None, description="What a denied caller is told.")


class RuleOut(Output):
    name: str
    effect: Effect
    priority: int
    audiences: list[Audience]
    customers: list[str]
    tools: list[str]
    read_only: bool | None
    destructive: bool | None
    condition: str | None
    reason: str | None


class TrialIn(Input):
    name: str = Field(description="The public name (or URI) called.")
    kind: ItemKind = "tool"
    audience: Audience = "member"
    customer: str | None = Field(default=None, description="The customer the call is bound to (slug).")
    arguments: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = Field(default=None, description="Default: the catalogue's, listed now.")


class TrialOut(Output):
    effect: Effect | None
    """``None``: no rule matched; the call proceeds undecided."""
    rule: str | None
    reason: str | None
    approval: bool
    """Whether stage 10 would hold the call for a person's approval."""
    listed: bool
    explanation: str


class QuotaIn(Input):
    scope: Scope = "tenant"
    subject: str | None = Field(
        default=None, description="A customer slug, a principal key or a tool glob; empty: each one apart."
    )
    window: Window
    limit: int = Field(ge=0)
    overage: bool = Field(default=False, description="Past the limit: let calls through as overage.")


class QuotaOut(Output):
    name: str
    scope: Scope
    subject: str | None
    window: Window
    limit: int
    overage: bool
    description: str


class ReadOnlyIn(Input):
    read_only: bool


class ReadOnlyOut(Output):
    tenant: str
    read_only: bool


def _rule(r: PolicyRuleRecord, slugs: dict[str, str]) -> RuleOut:
    return RuleOut(
        name=r.name, effect=r.effect, priority=r.priority, audiences=list(r.audiences),
        customers=[slugs.get(c, c) for c in r.customers], tools=list(r.tools), read_only=r.read_only,
        destructive=r.destructive, condition=r.condition, reason=r.reason,
    )  # fmt: skip


def _quota(q: QuotaRecord, slugs: dict[str, str]) -> QuotaOut:
    subject = slugs.get(q.subject, q.subject) if q.scope == "customer" and q.subject else q.subject
    return QuotaOut(
        name=q.name, scope=q.scope, subject=subject, window=q.window, limit=q.limit, overage=q.overage,
        description=describe(q, slugs),
    )  # fmt: skip


@router.get("/policies", summary="The tenant's tool-policy rules, in the order they are tried")
async def list_policies(scope: Admin) -> list[RuleOut]:
    policies = scope.store.policies
    slugs = await policies.customer_slugs()
    return [_rule(r, slugs) for r in await policies.list_rules()]


@router.post("/policies", status_code=201, summary="Add a tool-policy rule")
async def add_policy(scope: Admin, body: RuleIn) -> RuleOut:
    policies = scope.store.policies
    record = await policies.add_rule(
        body.name, body.effect, priority=body.priority, audiences=body.audiences, customers=body.customers,
        tools=body.tools, read_only=body.read_only, destructive=body.destructive, condition=body.condition,
        reason=body.reason,
    )  # fmt: skip
    return _rule(record, await policies.customer_slugs())


@router.delete("/policies/{name}", status_code=204, summary="Remove a tool-policy rule")
async def remove_policy(scope: Admin, name: str) -> Response:
    await scope.store.policies.remove_rule(name)
    return Response(status_code=204)


@router.post("/policies/test", summary="Evaluate a hypothetical call and name the deciding rule")
async def test_policy(scope: Admin, body: TrialIn) -> TrialOut:
    result = await trial(
        scope.context.store, scope.tenant.slug, body.name, kind=body.kind, audience=body.audience,
        customer=body.customer, arguments=body.arguments, annotations=body.annotations,
    )  # fmt: skip
    verdict = result.verdict
    return TrialOut(
        effect=verdict.effect, rule=verdict.rule, reason=verdict.reason, approval=result.approval,
        listed=result.listed, explanation=result.explain(),
    )  # fmt: skip


@router.get("/quotas", summary="The tenant's quotas")
async def list_quotas(scope: Admin) -> list[QuotaOut]:
    policies = scope.store.policies
    slugs = await policies.customer_slugs()
    return [_quota(q, slugs) for q in await policies.list_quotas()]


@router.put("/quotas/{name}", summary="Create or replace a quota")
async def set_quota(scope: Admin, name: str, body: QuotaIn) -> QuotaOut:
    policies = scope.store.policies
    record = await policies.set_quota(
        name, scope=body.scope, window=body.window, limit=body.limit, subject=body.subject, overage=body.overage
    )
    return _quota(record, await policies.customer_slugs())


@router.delete("/quotas/{name}", status_code=204, summary="Remove a quota")
async def remove_quota(scope: Admin, name: str) -> Response:
    await scope.store.policies.remove_quota(name)
    return Response(status_code=204)


@router.put("/read-only", summary="Switch read-only mode: on, only tools annotated readOnlyHint may be called")
async def set_read_only(scope: Admin, body: ReadOnlyIn) -> ReadOnlyOut:
    record = await scope.context.store.set_read_only(scope.tenant.slug, body.read_only)
    return ReadOnlyOut(tenant=record.slug, read_only=record.read_only)
