"""``/admin/v1/tenants/{tenant}/entities``: branded endpoints, ``/mcp/entities/{slug}`` (``msplex entity``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field

from msplex.admin.auth import Admin, TenantScope
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.store import EntityRecord

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/entities", tags=["entities"], responses=PROBLEM_RESPONSES)


class EntityIn(Input):
    slug: str
    name: str
    title: str | None = None
    description: str | None = None
    icon_url: str | None = None
    website_url: str | None = None
    support_url: str | None = None
    customer: str | None = None
    """Admit only identities of this customer (its slug)."""
    allow_anonymous: bool = False


class EntityToolsIn(Input):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class EntityOut(Output):
    slug: str
    name: str
    title: str | None
    description: str | None
    icon_url: str | None
    website_url: str | None
    support_url: str | None
    customer: str | None
    allow_anonymous: bool
    tools: list[str]
    created_at: datetime
    endpoint: str


async def _customers(scope: TenantScope) -> dict[str, str]:
    return {c.id: c.slug for c in await scope.store.list_customers()}


def _out(scope: TenantScope, entity: EntityRecord, customers: dict[str, str]) -> EntityOut:
    return EntityOut(
        slug=entity.slug,
        name=entity.name,
        title=entity.title,
        description=entity.description,
        icon_url=entity.icon_url,
        website_url=entity.website_url,
        support_url=entity.support_url,
        customer=customers.get(entity.customer_id or ""),
        allow_anonymous=entity.allow_anonymous,
        tools=list(entity.tools),
        created_at=entity.created_at,
        endpoint=f"{scope.context.settings.public_url}/mcp/entities/{entity.slug}",
    )


@router.get("", summary="List the tenant's entities")
async def list_entities(scope: Admin) -> list[EntityOut]:
    customers = await _customers(scope)
    return [_out(scope, e, customers) for e in await scope.store.list_entities()]


@router.post("", status_code=201, summary="Create a branded endpoint; then select its items")
async def create_entity(scope: Admin, body: EntityIn, response: Response) -> EntityOut:
    entity = await scope.store.create_entity(
        body.slug,
        body.name,
        title=body.title,
        description=body.description,
        icon_url=body.icon_url,
        website_url=body.website_url,
        support_url=body.support_url,
        customer=body.customer,
        allow_anonymous=body.allow_anonymous,
    )
    response.headers["Location"] = f"/admin/v1/tenants/{scope.tenant.slug}/entities/{entity.slug}"
    return _out(scope, entity, await _customers(scope))


@router.get("/{slug}", summary="Show an entity")
async def get_entity(scope: Admin, slug: str) -> EntityOut:
    return _out(scope, await scope.store.get_entity(slug), await _customers(scope))


@router.patch("/{slug}/tools", summary="Change which of the tenant's items the entity shows (still under the ACL)")
async def entity_tools(scope: Admin, slug: str, body: EntityToolsIn) -> EntityOut:
    if not body.add and not body.remove:
        raise Problem(422, "give patterns to add or remove", field="add")
    entity = await scope.store.entity_tools(slug, add=body.add, remove=body.remove)
    return _out(scope, entity, await _customers(scope))


@router.delete("/{slug}", status_code=204, summary="Remove an entity (its endpoint stops answering at once)")
async def remove_entity(scope: Admin, slug: str) -> Response:
    await scope.store.remove_entity(slug)
    return Response(status_code=204)
