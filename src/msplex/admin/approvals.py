"""``/admin/v1/tenants/{tenant}/approvals``: calls held until a person approves them (``msplex approvals``).

Tenant-scoped like every tenant route: a tenant admin sees and decides only its
own tenant's requests. A decision goes through ``msplex.approvals.decide`` (the
CLI's code path), records the approver (the caller's principal) and reaches the
waiting call on every replica. A principal cannot decide its own request (403);
a request no longer pending, or expired, cannot be decided (409). Arguments
are shown redacted, never in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.approvals import decide
from msplex.store.approvals import ApprovalRecord, ApprovalRefused

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/approvals", tags=["approvals"], responses=PROBLEM_RESPONSES)

Status = Literal["pending", "approved", "denied", "withdrawn", "executed", "expired"]


class DecisionIn(Input):
    reason: str | None = None


class ApprovalOut(Output):
    id: str
    status: Status
    kind: str
    name: str
    """The public name (or URI) the caller used."""
    instance: str
    requester: str
    """The calling principal's key."""
    customer: str | None
    arguments: dict[str, Any]
    """Redacted: secrets are replaced."""
    digest: str
    """Keyed digest of the arguments that will run."""
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    executed_at: datetime | None


def _out(r: ApprovalRecord) -> ApprovalOut:
    return ApprovalOut(
        id=r.id, status=r.status, kind=r.kind, name=r.name, instance=r.instance, requester=r.requester,
        customer=r.customer, arguments=r.arguments, digest=r.digest, created_at=r.created_at,
        expires_at=r.expires_at, decided_by=r.decided_by, decided_at=r.decided_at, reason=r.reason,
        executed_at=r.executed_at,
    )  # fmt: skip


@router.get("", summary="List the tenant's approval requests (newest first)")
async def list_approvals(
    scope: Admin, status: Annotated[Status | Literal["all"], Query(description="Which requests.")] = "pending"
) -> list[ApprovalOut]:
    return [_out(r) for r in await scope.store.approvals.list(status)]


@router.get("/{approval_id}", summary="Show one approval request")
async def show_approval(scope: Admin, approval_id: str) -> ApprovalOut:
    return _out(await scope.store.approvals.get(approval_id))


async def _decide(scope: Admin, approval_id: str, body: DecisionIn | None, approve: bool) -> ApprovalOut:
    context = scope.context
    try:
        record = await decide(
            context.store,
            context.gateway.state,
            scope.tenant.slug,
            approval_id,
            approve=approve,
            approver=scope.principal.key,
            reason=body.reason if body is not None else None,
        )
    except ApprovalRefused as exc:
        raise Problem(403 if exc.why == "self" else 409, exc.message) from None
    return _out(record)


@router.post("/{approval_id}/approve", summary="Approve a pending request: the call runs once, as held")
async def approve(scope: Admin, approval_id: str, body: DecisionIn | None = None) -> ApprovalOut:
    return await _decide(scope, approval_id, body, True)


@router.post("/{approval_id}/deny", summary="Deny a pending request: the call never runs")
async def deny(scope: Admin, approval_id: str, body: DecisionIn | None = None) -> ApprovalOut:
    return await _decide(scope, approval_id, body, False)
