"""``/admin/v1/tenants/{tenant}/audit`` and ``/usage``: the audit log and metering (``msplex audit``, ``msplex usage``).

Tenant-scoped like every tenant route: a tenant admin reads only its own tenant's
chain and counters, and another tenant's path is the 404 a missing tenant gets.
Records carry a keyed digest of the redacted arguments, never the arguments.
``GET /audit`` is tail and search in one (newest first; page with ``before``);
``/audit/export`` streams JSON lines or CSV, oldest first; ``/audit/verify``
checks the whole chain and names each altered, removed, inserted or reordered
record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES
from msplex.admin.schemas import Output
from msplex.audit.export import csv_lines, jsonl_lines, usage_dict, usage_rows_csv
from msplex.audit.verify import verify_chain
from msplex.store.audit import AuditQuery, AuditRecord

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}", tags=["audit"], responses=PROBLEM_RESPONSES)

Outcome = Literal["ok", "tool_error", "error", "denied", "held", "cancelled"]
Dimension = Literal["customer", "connector", "tool", "principal"]


class AuditRecordOut(Output):
    seq: int
    at: datetime
    principal: str
    audience: str | None
    customer_id: str | None
    customer: str | None
    method: str
    kind: str | None
    name: str | None
    """The tool, prompt or resource URI the caller asked for."""
    connector: str | None
    args_digest: str | None
    """Keyed digest of the redacted arguments (the arguments are never stored)."""
    stage: str
    """The stage the call reached (the one that refused it, for a denial)."""
    decision: str
    rule: str | None
    approval_id: str | None
    overage: bool
    outcome: str
    error_code: int | None
    reason: str | None
    latency_us: int
    request_id: str | None
    prev_hash: str
    hash: str


class FindingOut(Output):
    kind: Literal["altered", "inserted", "removed", "reordered", "head"]
    seq: int | None
    message: str


class VerdictOut(Output):
    ok: bool
    records: int
    head_seq: int | None
    findings: list[FindingOut]


class UsageOut(Output):
    key: str
    """The group's value (``""``: none, e.g. calls without a customer); the tenant's slug for the total."""
    calls: int
    ok: int
    denied: int
    held: int
    errors: int
    overage: int
    duration_ms: float
    denied_by_stage: dict[str, int]


def _out(record: AuditRecord) -> AuditRecordOut:
    e = record.entry
    return AuditRecordOut(
        seq=record.seq, at=e.at, principal=e.principal, audience=e.audience, customer_id=e.customer_id,
        customer=e.customer, method=e.method, kind=e.kind, name=e.name, connector=e.connector,
        args_digest=e.args_digest, stage=e.stage, decision=e.decision, rule=e.rule, approval_id=e.approval_id,
        overage=e.overage, outcome=e.outcome, error_code=e.error_code, reason=e.reason, latency_us=e.latency_us,
        request_id=e.request_id, prev_hash=record.prev_hash, hash=record.hash,
    )  # fmt: skip


def _query(
    principal: str | None,
    tool: str | None,
    customer: str | None,
    stage: str | None,
    outcome: Outcome | None,
    since: datetime | None,
    until: datetime | None,
) -> AuditQuery:
    return AuditQuery(principal, tool, customer, stage, outcome, since, until)


Principal = Annotated[str | None, Query(description="A principal key (token:ID, oidc:...).")]
Tool = Annotated[str | None, Query(description="The tool, prompt or URI; * is a wildcard.")]
Customer = Annotated[str | None, Query(description="A customer slug.")]
StageName = Annotated[str | None, Query(description="The stage reached.")]
Since = Annotated[datetime | None, Query(description="From this time (inclusive).")]
Until = Annotated[datetime | None, Query(description="Before this time.")]


@router.get("/audit", summary="Audit records, newest first: the tail, or a search")
async def search_audit(
    scope: Admin,
    principal: Principal = None,
    tool: Tool = None,
    customer: Customer = None,
    stage: StageName = None,
    outcome: Outcome | None = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    before: Annotated[int | None, Query(description="Only records with a smaller seq (paging).")] = None,
) -> list[AuditRecordOut]:
    query = _query(principal, tool, customer, stage, outcome, since, until)
    return [_out(r) for r in await scope.store.audit.search(query, limit=limit, before=before)]


@router.get(
    "/audit/export",
    summary="Every matching audit record, oldest first, as JSON lines or CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export_audit(
    scope: Admin,
    format: Literal["jsonl", "csv"] = "jsonl",
    principal: Principal = None,
    tool: Tool = None,
    customer: Customer = None,
    stage: StageName = None,
    outcome: Outcome | None = None,
    since: Since = None,
    until: Until = None,
) -> StreamingResponse:
    records = scope.store.audit.records(_query(principal, tool, customer, stage, outcome, since, until))
    name = f"audit-{scope.tenant.slug}.{format}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return StreamingResponse(csv_lines(records), media_type="text/csv", headers=headers)

    async def lines() -> AsyncIterator[str]:
        async for record in records:
            for line in jsonl_lines([record]):
                yield line

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)


@router.get("/audit/verify", summary="Check the tenant's audit chain; name each altered, removed, inserted or "
            "reordered record")  # fmt: skip
async def verify_audit(scope: Admin) -> VerdictOut:
    head, links = await scope.store.audit.chain()
    verdict = verify_chain(head, links)
    findings = [FindingOut(kind=f.kind, seq=f.seq, message=f.message) for f in verdict.findings]
    return VerdictOut(ok=verdict.ok, records=verdict.records, head_seq=verdict.head_seq, findings=findings)


@router.get(
    "/usage",
    summary="Usage: calls, denials by stage, overage, errors and time, in total or per group",
    response_model=list[UsageOut],
    responses={200: {"content": {"text/csv": {}}}},
)
async def usage(
    scope: Admin,
    by: Dimension | None = None,
    since: Annotated[datetime | None, Query(description="From this time (counters are hourly).")] = None,
    until: Until = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    rows = await scope.store.audit.usage(by, since=since, until=until)
    if by is None:
        rows = [replace(r, key=scope.tenant.slug) for r in rows]
    if format == "csv":
        return PlainTextResponse(usage_rows_csv(rows, by or "tenant"), media_type="text/csv")
    return [UsageOut(**usage_dict(r)) for r in rows]
