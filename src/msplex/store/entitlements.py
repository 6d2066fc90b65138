"""Plans and subscriptions: what a tenant is entitled to (chain stages 4 to 6).

Plans are the platform operator's and shared by tenants (``Store.plans``); a
tenant has at most one subscription (``Store.tenant(slug).subscription``),
keyed by the tenant its slug resolves to in the same transaction like every
tenant-owned row. Both are configuration: every change bumps the control
version, so each replica's entitlement snapshot follows within a poll.

A plan names connectors by vendor kind (``halopsa``) or upstream name, or ``*``
for all of them. A plan a subscription uses cannot be removed. Setting the
status to ``past_due`` starts its grace period (``past_due_since``) unless it
was already past due; any other status clears it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from msplex.store import validation
from msplex.store.errors import AlreadyExists, InvalidInput, NotFound
from msplex.store.models import Plan, Subscription, Tenant, utcnow
from msplex.store.records import (
    SUBSCRIPTION_STATUSES,
    Overage,
    PlanRecord,
    SubscriptionRecord,
    SubscriptionStatus,
)

if TYPE_CHECKING:
    from msplex.store.store import Store
    from msplex.store.tenant import TenantStore

__all__ = ["ALL_CONNECTORS", "DEFAULT_GRACE_DAYS", "Plans", "TenantSubscription", "plan_record", "subscription_record"]

ALL_CONNECTORS = "*"
_CONNECTOR = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_MAX_GRACE_DAYS = 366
DEFAULT_GRACE_DAYS = 7
"""How long a ``past_due`` subscription is still served unless its grace is set."""


def plan_record(row: Plan) -> PlanRecord:
    overage: Overage = "allowed" if row.overage == "allowed" else "denied"
    return PlanRecord(
        row.id, row.name, tuple(row.connectors), row.calls_per_month, overage, row.created_at, row.updated_at
    )


def subscription_record(row: Subscription, plan: str) -> SubscriptionRecord:
    status: SubscriptionStatus = row.status  # type: ignore[assignment]
    return SubscriptionRecord(
        row.tenant_id, row.plan_id, plan, status, row.grace_days, row.trial_ends_at, row.past_due_since,
        row.updated_at,
    )  # fmt: skip


def _connectors(names: Sequence[str]) -> list[str]:
    if isinstance(names, str) or not names:
        raise InvalidInput("connectors", "name at least one connector (a vendor kind or an upstream name), or '*'")
    chosen: list[str] = []
    for name in names:
        if name != ALL_CONNECTORS and not (isinstance(name, str) and _CONNECTOR.match(name)):
            raise InvalidInput(
                "connectors", f"{name!r} must be '*' or a vendor kind or upstream name (a-z, 0-9, '-', '_')"
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def _allowance(calls_per_month: int | None) -> int | None:
    if calls_per_month is not None and (isinstance(calls_per_month, bool) or calls_per_month < 0):
        raise InvalidInput("calls per month", "must be a whole number, 0 or more")
    return calls_per_month


def _overage(overage: str) -> Overage:
    if overage not in ("allowed", "denied"):
        raise InvalidInput("overage", f"'{overage}' is not one of allowed, denied")
    return "allowed" if overage == "allowed" else "denied"


class Plans:
    """The operator's plans (``Store.plans``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(
        self,
        name: str,
        connectors: Sequence[str],
        *,
        calls_per_month: int | None = None,
        overage: str = "denied",
    ) -> PlanRecord:
        validation.check_slug(name, "plan name")
        chosen, allowance, rule = _connectors(connectors), _allowance(calls_per_month), _overage(overage)
        async with self._store.mutation() as session:
            if await session.scalar(sa.select(Plan.id).where(Plan.name == name)) is not None:
                raise AlreadyExists("plan", name)
            now = utcnow()
            row = Plan(
                id=str(uuid.uuid4()), name=name, connectors=chosen, calls_per_month=allowance, overage=rule,
                created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(row)
        return plan_record(row)

    async def update(
        self,
        name: str,
        *,
        connectors: Sequence[str] | None = None,
        calls_per_month: int | None = None,
        unlimited: bool = False,
        overage: str | None = None,
    ) -> PlanRecord:
        """Change what is given; ``unlimited`` clears the monthly allowance."""
        chosen = _connectors(connectors) if connectors is not None else None
        allowance = _allowance(calls_per_month)
        rule = _overage(overage) if overage is not None else None
        async with self._store.mutation() as session:
            row = await _plan(session, name)
            if chosen is not None:
                row.connectors = chosen
            if unlimited:
                row.calls_per_month = None
            elif allowance is not None:
                row.calls_per_month = allowance
            if rule is not None:
                row.overage = rule
            row.updated_at = utcnow()
        return plan_record(row)

    async def subscribers(self, name: str) -> list[str]:
        """The slugs of the tenants on plan ``name``."""
        async with self._store.reader() as session:
            row = await _plan(session, name)
            query = sa.select(Tenant.slug).join(Subscription, Subscription.tenant_id == Tenant.id)
            return list(await session.scalars(query.where(Subscription.plan_id == row.id).order_by(Tenant.slug)))

    async def list(self) -> list[PlanRecord]:
        async with self._store.reader() as session:
            return [plan_record(r) for r in await session.scalars(sa.select(Plan).order_by(Plan.name))]

    async def get(self, name: str) -> PlanRecord:
        async with self._store.reader() as session:
            return plan_record(await _plan(session, name))

    async def remove(self, name: str) -> None:
        """Refused (``InvalidInput``) while a tenant subscribes to it: move those tenants first."""
        async with self._store.mutation() as session:
            row = await _plan(session, name)
            users = list(
                await session.scalars(
                    sa.select(Tenant.slug)
                    .join(Subscription, Subscription.tenant_id == Tenant.id)
                    .where(Subscription.plan_id == row.id)
                    .order_by(Tenant.slug)
                )
            )
            if users:
                raise InvalidInput(
                    "plan", f"'{name}' is the plan of tenant(s) {', '.join(users)}; give them another plan first"
                )
            await session.delete(row)


async def _plan(session: AsyncSession, name: str) -> Plan:
    row = await session.scalar(sa.select(Plan).where(Plan.name == name))
    if row is None:
        raise NotFound("plan", name)
    return row


class TenantSubscription:
    """One tenant's subscription (``Store.tenant(slug).subscription``)."""

    def __init__(self, store: Store, tenants: TenantStore) -> None:
        self._store = store
        self._tenants = tenants

    async def set(
        self,
        *,
        plan: str | None = None,
        status: str | None = None,
        grace_days: int | None = None,
        trial_ends_at: datetime | None = None,
    ) -> SubscriptionRecord:
        """Create or change the subscription; a new one needs ``plan`` and ``status``. A ``trialing``
        subscription needs a trial end; ``past_due`` starts its grace period now unless already past due."""
        if status is not None and status not in SUBSCRIPTION_STATUSES:
            raise InvalidInput("status", f"'{status}' is not one of {', '.join(SUBSCRIPTION_STATUSES)}")
        if grace_days is not None and not 0 <= grace_days <= _MAX_GRACE_DAYS:
            raise InvalidInput("grace", f"must be 0 to {_MAX_GRACE_DAYS} days")
        async with self._store.mutation() as session:
            tenant: Tenant = await self._tenants._tenant(session)
            row = await session.scalar(self._tenants._owned(tenant, Subscription))
            plan_row = await _plan(session, plan) if plan is not None else None
            now = utcnow()
            if row is None:
                if plan_row is None or status is None:
                    raise InvalidInput("subscription", f"tenant '{tenant.slug}' has none yet: give a plan and a status")
                row = Subscription(tenant_id=tenant.id, plan_id=plan_row.id, status=status, created_at=now)
                row.grace_days = DEFAULT_GRACE_DAYS
                session.add(row)
            elif plan_row is not None:
                row.plan_id = plan_row.id
            if status is not None:
                if status == "past_due" and (row.status != "past_due" or row.past_due_since is None):
                    row.past_due_since = now
                elif status != "past_due":
                    row.past_due_since = None
                row.status = status
            if grace_days is not None:
                row.grace_days = grace_days
            if trial_ends_at is not None:
                row.trial_ends_at = trial_ends_at
            if row.status == "trialing" and row.trial_ends_at is None:
                raise InvalidInput("trial end", "a trialing subscription needs a trial end date")
            row.updated_at = now
            name = plan_row.name if plan_row is not None else (await session.get_one(Plan, row.plan_id)).name
        return subscription_record(row, name)

    async def get(self) -> SubscriptionRecord | None:
        async with self._store.reader() as session:
            tenant = await self._tenants._tenant(session)
            row = await session.scalar(self._tenants._owned(tenant, Subscription))
            if row is None:
                return None
            return subscription_record(row, (await session.get_one(Plan, row.plan_id)).name)

    async def remove(self) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenants._tenant(session)
            result = await session.execute(self._tenants._delete(tenant, Subscription))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("subscription", tenant.slug)
