"""Approval requests: calls held until a person approves them, durable across restarts.

Reached as ``Store.tenant(slug).approvals``; every query is keyed by the tenant
the slug resolves to in the same transaction (``TenantStore._owned``), so an
approver of one tenant can neither see nor decide another's requests.

What is stored for a held call: its target (kind, public name, connector
instance), the customer, the requesting principal's key, the arguments sealed
with the keyring (bound to tenant and row: the approved call runs from them), a
redacted copy for approvers, and a keyed digest (``Keyring.mac``) that matches
a retry's arguments without showing them. Writes are not configuration, so they
leave the control version alone (``Store.transaction``).

Lifecycle: ``pending`` → ``approved`` | ``denied`` (an approver, never the
requester) | ``withdrawn`` (the requester); ``approved`` → ``executed`` by one
conditional UPDATE (``claim``), which is what makes an approved call run at
most once across tasks and replicas. Past ``expires_at`` a pending or approved
request is ``expired``: nothing decides or claims it any more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from msplex.crypto import InvalidCiphertext
from msplex.store.errors import InvalidInput, NotFound, StoreError
from msplex.store.models import ApprovalRequest, Customer, Tenant, utcnow

if TYPE_CHECKING:
    from msplex.audit.entry import AuditEntry
    from msplex.store.store import Store
    from msplex.store.tenant import TenantStore

__all__ = ["STATUSES", "ApprovalRecord", "ApprovalRefused", "ApprovalStatus", "TenantApprovals", "canonical"]

ApprovalStatus = Literal["pending", "approved", "denied", "withdrawn", "executed", "expired"]
STATUSES: tuple[ApprovalStatus, ...] = ("pending", "approved", "denied", "withdrawn", "executed", "expired")
_PURPOSE = b"msplex/approval-arguments"
_MAX_REASON = 1000
_LIST_LIMIT = 500


def canonical(arguments: Any) -> bytes:
    """The one byte form of arguments that digests compare (keys sorted)."""
    return orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    id: str
    tenant_id: str
    kind: str
    name: str
    instance: str
    customer_id: str | None
    customer: str | None
    """The customer's slug."""
    requester: str
    arguments: dict[str, Any]
    """Redacted: what an approver is shown."""
    digest: str
    status: ApprovalStatus
    """As of reading; ``expired`` once a pending or approved request is past ``expires_at``."""
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    executed_at: datetime | None


class ApprovalRefused(StoreError):
    """What a request's state does not allow: ``why`` is ``self`` (a principal deciding its own request),
    ``decided`` (no longer pending), ``expired``, or ``unreadable`` (the sealed arguments do not open)."""

    def __init__(self, why: str, message: str) -> None:
        super().__init__(message)
        self.why = why


def _sealed_aad(tenant_id: str, approval_id: str) -> bytes:
    return b"msplex/approval-arguments\x00" + f"{tenant_id}\x00{approval_id}".encode()


def _status(row: ApprovalRequest, now: datetime) -> ApprovalStatus:
    if row.status in ("pending", "approved") and row.expires_at <= now:
        return "expired"
    status: ApprovalStatus = row.status  # type: ignore[assignment]
    return status


def _record(row: ApprovalRequest, customers: dict[str, str], now: datetime) -> ApprovalRecord:
    return ApprovalRecord(
        row.id, row.tenant_id, row.kind, row.name, row.instance, row.customer_id,
        customers.get(row.customer_id or ""), row.requester, dict(row.arguments_redacted), row.arguments_digest,
        _status(row, now), row.created_at, row.expires_at, row.decided_by, row.decided_at, row.reason,
        row.executed_at,
    )  # fmt: skip


def _decision_entry(record: ApprovalRecord, approve: bool) -> AuditEntry:
    """The audit record of a decision, written in the decision's own transaction: who decided what."""
    from msplex.audit.entry import AuditEntry

    return AuditEntry(
        tenant_id=record.tenant_id, at=record.decided_at or utcnow(), principal=record.decided_by or "unknown",
        audience=None, customer_id=record.customer_id, customer=record.customer,
        method="approvals/approve" if approve else "approvals/deny", kind=record.kind, name=record.name,
        connector=record.instance, args_digest=None, stage="check_approval", decision="approve" if approve else "deny",
        rule=None, approval_id=record.id, overage=False, outcome="ok", error_code=None, reason=record.reason,
        latency_us=0, request_id=None,
    )  # fmt: skip


class TenantApprovals:
    def __init__(self, store: Store, tenants: TenantStore) -> None:
        self._store = store
        self._tenants = tenants

    async def create(
        self,
        *,
        kind: str,
        name: str,
        instance: str,
        customer_id: str | None,
        requester: str,
        arguments: dict[str, Any],
        redacted: dict[str, Any],
        ttl: float,
    ) -> ApprovalRecord:
        plain = canonical(arguments)
        now = utcnow()
        async with self._store.transaction() as session:
            tenant = await self._tenants._tenant(session)
            row = ApprovalRequest(
                id=str(uuid.uuid4()), tenant_id=tenant.id, kind=kind, name=name, instance=instance,
                customer_id=customer_id, requester=requester, arguments_redacted=redacted,
                arguments_digest=self._store.keyring.mac(plain, purpose=_PURPOSE), status="pending",
                created_at=now, expires_at=now + timedelta(seconds=ttl),
            )  # fmt: skip
            row.arguments_enc = self._store.keyring.encrypt(plain, aad=_sealed_aad(tenant.id, row.id))
            session.add(row)
            customers = await self._customers(session, tenant)
        return _record(row, customers, now)

    async def get(self, approval_id: str) -> ApprovalRecord:
        async with self._store.reader() as session:
            tenant = await self._tenants._tenant(session)
            row = await self._row(session, tenant, approval_id)
            return _record(row, await self._customers(session, tenant), utcnow())

    async def list(self, status: str = "pending") -> list[ApprovalRecord]:
        """Newest first; ``status`` one of ``STATUSES`` or ``all``."""
        if status != "all" and status not in STATUSES:
            raise InvalidInput("status", f"'{status}' is not one of all, {', '.join(STATUSES)}")
        now = utcnow()
        async with self._store.reader() as session:
            tenant = await self._tenants._tenant(session)
            query = self._tenants._owned(tenant, ApprovalRequest)
            open_ = ApprovalRequest.status.in_(("pending", "approved"))
            if status == "expired":
                query = query.where(open_, ApprovalRequest.expires_at <= now)
            elif status in ("pending", "approved"):
                query = query.where(ApprovalRequest.status == status, ApprovalRequest.expires_at > now)
            elif status != "all":
                query = query.where(ApprovalRequest.status == status)
            rows = await session.scalars(query.order_by(ApprovalRequest.created_at.desc()).limit(_LIST_LIMIT))
            customers = await self._customers(session, tenant)
            return [_record(r, customers, now) for r in rows]

    async def decide(self, approval_id: str, *, approve: bool, approver: str, reason: str | None) -> ApprovalRecord:
        """Approve or deny a pending request; the approver is recorded and may not be its requester."""
        if reason is not None and len(reason) > _MAX_REASON:
            raise InvalidInput("reason", f"at most {_MAX_REASON} characters")
        now = utcnow()
        async with self._store.transaction() as session:
            tenant = await self._tenants._tenant(session)
            row = await self._row(session, tenant, approval_id)
            if row.requester == approver:
                raise ApprovalRefused(
                    "self", "a principal cannot approve or deny its own request; ask another approver"
                )
            self._check_open(row, now, "pending")
            decided = await session.execute(
                sa.update(ApprovalRequest)
                .where(self._key(tenant, approval_id), ApprovalRequest.status == "pending")
                .values(status="approved" if approve else "denied", decided_by=approver, decided_at=now, reason=reason)
                .execution_options(synchronize_session=False)
            )
            if decided.rowcount != 1:  # type: ignore[attr-defined]
                raise ApprovalRefused("decided", f"approval request {approval_id} was decided meanwhile")
            await session.refresh(row)
            record = _record(row, await self._customers(session, tenant), now)
            from msplex.store.audit import append  # here: msplex.audit imports the approvals package

            await append(await session.connection(), self._store.keyring, [_decision_entry(record, approve)])
            return record

    async def withdraw(self, approval_id: str, requester: str) -> bool:
        """The requester gives up a pending request; ``False`` if it was no longer pending."""
        return await self._move(
            approval_id,
            (ApprovalRequest.requester == requester, ApprovalRequest.status == "pending"),
            status="withdrawn",
            decided_by=requester,
            decided_at=utcnow(),
        )

    async def claim(self, approval_id: str, requester: str) -> bool:
        """Mark an approved, unexpired request of ``requester`` executed; ``True`` for exactly one caller ever."""
        now = utcnow()
        return await self._move(
            approval_id,
            (
                ApprovalRequest.requester == requester,
                ApprovalRequest.status == "approved",
                ApprovalRequest.expires_at > now,
            ),
            status="executed",
            executed_at=now,
        )

    async def arguments(self, approval_id: str) -> tuple[ApprovalRecord, dict[str, Any]]:
        """The request and the arguments it holds (unsealed, and checked against its digest)."""
        async with self._store.reader() as session:
            tenant = await self._tenants._tenant(session)
            row = await self._row(session, tenant, approval_id)
            record = _record(row, await self._customers(session, tenant), utcnow())
        try:
            plain = self._store.keyring.decrypt(row.arguments_enc, aad=_sealed_aad(row.tenant_id, row.id))
        except InvalidCiphertext:
            plain = b""
        if not self._store.keyring.mac_matches(plain, row.arguments_digest, purpose=_PURPOSE):
            raise ApprovalRefused("unreadable", f"the arguments of approval request {approval_id} cannot be opened")
        arguments: dict[str, Any] = orjson.loads(plain)
        return record, arguments

    def matches(self, record: ApprovalRecord, arguments: Any) -> bool:
        """Whether ``arguments`` are exactly the ones ``record`` holds (by its keyed digest)."""
        return self._store.keyring.mac_matches(canonical(arguments), record.digest, purpose=_PURPOSE)

    # plumbing ------------------------------------------------------------------------------

    async def _move(self, approval_id: str, conditions: tuple[sa.ColumnElement[bool], ...], **values: Any) -> bool:
        """One conditional UPDATE: ``True`` when it changed the row (so exactly one of racing callers wins)."""
        async with self._store.transaction() as session:
            tenant = await self._tenants._tenant(session)
            done = await session.execute(
                sa.update(ApprovalRequest)
                .where(self._key(tenant, approval_id), *conditions)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    @staticmethod
    def _key(tenant: Tenant, approval_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(ApprovalRequest.tenant_id == tenant.id, ApprovalRequest.id == approval_id)

    async def _row(self, session: AsyncSession, tenant: Tenant, approval_id: str) -> ApprovalRequest:
        row = await session.scalar(
            self._tenants._owned(tenant, ApprovalRequest).where(ApprovalRequest.id == approval_id)
        )
        if row is None:
            raise NotFound("approval request", approval_id, tenant=self._tenants.slug)
        return row

    async def _customers(self, session: AsyncSession, tenant: Tenant) -> dict[str, str]:
        return {c.id: c.slug for c in await session.scalars(self._tenants._owned(tenant, Customer))}

    @staticmethod
    def _check_open(row: ApprovalRequest, now: datetime, wanted: str) -> None:
        status = _status(row, now)
        if status == "expired":
            raise ApprovalRefused(
                "expired", f"approval request {row.id} expired at {row.expires_at:%Y-%m-%dT%H:%M:%SZ}"
            )
        if status != wanted:
            by = f" by {row.decided_by}" if row.decided_by and status in ("approved", "denied") else ""
            raise ApprovalRefused("decided", f"approval request {row.id} is already {status}{by}")
