"""Tool-policy rules and quotas: a tenant's own, reached as ``Store.tenant(slug).policies``.

Every query is keyed by the tenant the slug resolves to in the same transaction
(``TenantStore._owned``). Both are configuration: each change bumps the
control version, so every replica recompiles the tenant's policy and quotas
from its next snapshot (``msplex.gateway``). A rule's CEL condition is
compiled here before it is stored, so a rule that cannot run is never saved.
Customers are named by slug and stored by id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from msplex.store import validation
from msplex.store.errors import AlreadyExists, InvalidInput, NotFound
from msplex.store.models import Customer, PolicyRule, Quota, Tenant, utcnow
from msplex.store.records import (
    AUDIENCES,
    POLICY_EFFECTS,
    QUOTA_SCOPES,
    QUOTA_WINDOWS,
    Audience,
    PolicyEffect,
    PolicyRuleRecord,
    QuotaRecord,
    QuotaScope,
    QuotaWindow,
)

if TYPE_CHECKING:
    from msplex.store.store import Store
    from msplex.store.tenant import TenantStore

__all__ = ["TenantPolicies", "policy_record", "quota_record"]

_MAX_CONDITION = 2000
_MAX_REASON = 500
_MAX_LIMIT = 10**12


def policy_record(row: PolicyRule) -> PolicyRuleRecord:
    audiences: tuple[Audience, ...] = tuple(a for a in AUDIENCES if a in row.audiences)
    effect: PolicyEffect = row.effect  # type: ignore[assignment]
    return PolicyRuleRecord(
        row.id, row.name, row.priority, effect, audiences, tuple(row.customers), tuple(row.tools),
        row.read_only, row.destructive, row.condition, row.reason, row.seq,
    )  # fmt: skip


def quota_record(row: Quota) -> QuotaRecord:
    scope: QuotaScope = row.scope  # type: ignore[assignment]
    window: QuotaWindow = row.window  # type: ignore[assignment]
    return QuotaRecord(row.id, row.name, scope, row.subject, window, row.limit, row.overage)


class TenantPolicies:
    def __init__(self, store: Store, tenant: TenantStore) -> None:
        self._store = store
        self._tenant = tenant

    async def _customer_ids(self, session: AsyncSession, tenant: Tenant, slugs: Sequence[str]) -> list[str]:
        ids = []
        for slug in slugs:
            row = await session.scalar(
                sa.select(Customer).where(Customer.tenant_id == tenant.id, Customer.slug == slug)
            )
            if row is None:
                raise NotFound("customer", slug, tenant=self._tenant.slug)
            ids.append(row.id)
        return ids

    async def customer_slugs(self) -> dict[str, str]:
        """Customer slugs by id, to show what rules and quotas store by id."""
        return {c.id: c.slug for c in await self._tenant.list_customers()}

    # rules -----------------------------------------------------------------------------------

    async def add_rule(
        self,
        name: str,
        effect: str,
        *,
        priority: int = 100,
        audiences: Sequence[str] = (),
        customers: Sequence[str] = (),
        tools: Sequence[str] = (),
        read_only: bool | None = None,
        destructive: bool | None = None,
        condition: str | None = None,
        reason: str | None = None,
    ) -> PolicyRuleRecord:
        """Add a rule (``InvalidInput`` for a bad value or a condition that does not compile)."""
        from msplex.policy import CelError, compile_condition

        validation.check_slug(name, "rule name")
        if effect not in POLICY_EFFECTS:
            raise InvalidInput("effect", f"'{effect}' is not one of {', '.join(POLICY_EFFECTS)}")
        chosen = list(validation.check_audiences(audiences)) if audiences else []
        patterns = validation.check_patterns(tools) if tools else ()
        if condition is not None:
            condition = condition.strip() or None
        if condition is not None:
            if len(condition) > _MAX_CONDITION:
                raise InvalidInput("condition", f"longer than {_MAX_CONDITION} characters")
            try:
                compile_condition(condition)
            except CelError as exc:
                raise InvalidInput("condition", str(exc)) from None
        if reason is not None and len(reason) > _MAX_REASON:
            raise InvalidInput("reason", f"longer than {_MAX_REASON} characters")
        if not -(10**6) <= priority <= 10**6:
            raise InvalidInput("priority", "must be between -1000000 and 1000000")
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            owned = self._tenant._owned(tenant, PolicyRule)
            if await session.scalar(owned.where(PolicyRule.name == name)) is not None:
                raise AlreadyExists("policy rule", name, tenant=self._tenant.slug)
            newest = await session.scalar(
                sa.select(sa.func.max(PolicyRule.seq)).where(PolicyRule.tenant_id == tenant.id)
            )
            row = PolicyRule(
                id=str(uuid.uuid4()), tenant_id=tenant.id, name=name, priority=priority, effect=effect,
                audiences=chosen, customers=await self._customer_ids(session, tenant, customers),
                tools=list(patterns), read_only=read_only, destructive=destructive, condition=condition,
                reason=reason or None, seq=int(newest or 0) + 1, created_at=utcnow(),
            )  # fmt: skip
            session.add(row)
        return policy_record(row)

    async def list_rules(self) -> list[PolicyRuleRecord]:
        """In evaluation order: by priority, then in the order added."""
        async with self._store.reader() as session:
            tenant = await self._tenant._tenant(session)
            rows = await session.scalars(
                self._tenant._owned(tenant, PolicyRule).order_by(PolicyRule.priority, PolicyRule.seq)
            )
            return [policy_record(r) for r in rows]

    async def remove_rule(self, name: str) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            result = await session.execute(
                sa.delete(PolicyRule).where(PolicyRule.tenant_id == tenant.id, PolicyRule.name == name)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("policy rule", name, tenant=self._tenant.slug)

    # quotas ----------------------------------------------------------------------------------

    async def set_quota(
        self,
        name: str,
        *,
        scope: str,
        window: str,
        limit: int,
        subject: str | None = None,
        overage: bool = False,
    ) -> QuotaRecord:
        """Create or replace the quota ``name``; a ``customer`` subject is the customer's slug."""
        validation.check_slug(name, "quota name")
        if scope not in QUOTA_SCOPES:
            raise InvalidInput("scope", f"'{scope}' is not one of {', '.join(QUOTA_SCOPES)}")
        if window not in QUOTA_WINDOWS:
            raise InvalidInput("window", f"'{window}' is not one of {', '.join(QUOTA_WINDOWS)}")
        if not 0 <= limit <= _MAX_LIMIT:
            raise InvalidInput("limit", f"must be between 0 and {_MAX_LIMIT}")
        if scope == "tenant" and subject is not None:
            raise InvalidInput("subject", "a tenant quota counts every call; it names no customer, caller or tool")
        if scope == "tool" and subject is not None:
            validation.check_patterns([subject])
        if subject is not None and not 0 < len(subject) <= 300:
            raise InvalidInput("subject", "must be 1 to 300 characters")
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            if scope == "customer" and subject is not None:
                subject = (await self._customer_ids(session, tenant, [subject]))[0]
            row = await session.scalar(self._tenant._owned(tenant, Quota).where(Quota.name == name))
            if row is None:
                row = Quota(id=str(uuid.uuid4()), tenant_id=tenant.id, name=name, created_at=utcnow())
                session.add(row)
            row.scope, row.subject, row.window, row.limit, row.overage = scope, subject, window, limit, overage
        return quota_record(row)

    async def list_quotas(self) -> list[QuotaRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant._tenant(session)
            rows = await session.scalars(self._tenant._owned(tenant, Quota).order_by(Quota.created_at, Quota.id))
            return [quota_record(r) for r in rows]

    async def remove_quota(self, name: str) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            result = await session.execute(sa.delete(Quota).where(Quota.tenant_id == tenant.id, Quota.name == name))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("quota", name, tenant=self._tenant.slug)
