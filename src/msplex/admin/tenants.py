"""``/admin/v1/tenants``: the MSPs this gateway serves (the platform operator's; a tenant admin reads its own)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from msplex.admin.auth import Admin, Context, Operator
from msplex.admin.problems import PROBLEM_RESPONSES
from msplex.admin.schemas import Input, Output
from msplex.store import TenantRecord

__all__ = ["PREFIX", "router"]

PREFIX = "/admin/v1/tenants"
router = APIRouter(prefix=PREFIX, tags=["tenants"], responses=PROBLEM_RESPONSES)


class TenantIn(Input):
    slug: str
    name: str | None = None
    allow_anonymous: bool = False


class TenantOut(Output):
    id: str
    slug: str
    name: str
    allow_anonymous: bool
    created_at: datetime
    endpoint: str
    """The tenant's MCP endpoint."""


def tenant_out(record: TenantRecord, public_url: str) -> TenantOut:
    return TenantOut(
        id=record.id,
        slug=record.slug,
        name=record.name,
        allow_anonymous=record.allow_anonymous,
        created_at=record.created_at,
        endpoint=f"{public_url}/mcp/v1/{record.slug}",
    )


@router.get("", summary="List tenants (operator)")
async def list_tenants(principal: Operator, ctx: Context) -> list[TenantOut]:
    return [tenant_out(t, ctx.settings.public_url) for t in await ctx.store.list_tenants()]


@router.post("", status_code=201, summary="Create a tenant (operator)")
async def create_tenant(body: TenantIn, principal: Operator, ctx: Context, response: Response) -> TenantOut:
    record = await ctx.store.create_tenant(body.slug, body.name, body.allow_anonymous)
    response.headers["Location"] = f"{PREFIX}/{record.slug}"
    return tenant_out(record, ctx.settings.public_url)


@router.get("/{tenant}", summary="Show a tenant")
async def get_tenant(scope: Admin) -> TenantOut:
    return tenant_out(scope.tenant, scope.context.settings.public_url)
