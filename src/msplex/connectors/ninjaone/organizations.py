"""NinjaOne organizations, their locations and their end users (contacts).

A customer-bound call sees its own organization only (the list becomes that one organization), and
the locations and end users of that organization; another organization's id is refused as not found.
"""

from __future__ import annotations

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec
from msplex.connectors.framework.schema import fields, params
from msplex.connectors.ninjaone import _schemas as s
from msplex.connectors.ninjaone._api import (
    CURSOR_INPUT,
    cursor_output,
    cursor_result,
    get_owned,
    list_after,
    org_of,
    project,
)

__all__ = ["TOOLS"]

_ORG = fields(s.ORGANIZATION)


async def _organization(ctx: ToolContext, org: int) -> JSON:
    return await get_owned(ctx, f"v2/organization/{org}", f"organization {org}", lambda r: r.get("id"))


async def _list_organizations(ctx: ToolContext, args: JSON) -> JSON:
    if ctx.scope.bound:
        own = [] if args.get("cursor") else [project(await _organization(ctx, int(str(ctx.scope.vendor_id))), _ORG)]
        return cursor_result(own, int(args.get("page_size", 25)), None)
    return await list_after(ctx, "v2/organizations", args, fields=_ORG, owner=lambda r: r.get("id"))


async def _get_organization(ctx: ToolContext, args: JSON) -> JSON:
    org = org_of(ctx, args.get("organization_id"))
    if org is None:
        raise ToolError("organization_id is required (list_organizations)")
    return project(await _organization(ctx, org), _ORG)


async def _list_locations(ctx: ToolContext, args: JSON) -> JSON:
    org = org_of(ctx, args.get("organization_id"))
    path = "v2/locations" if org is None else f"v2/organization/{org}/locations"
    return await list_after(ctx, path, args, fields=fields(s.LOCATION))


async def _list_end_users(ctx: ToolContext, args: JSON) -> JSON:
    org = org_of(ctx, args.get("organization_id"))
    path = "v2/user/end-users" if org is None else f"v2/organization/{org}/end-users"
    rows = await ctx.http.get(path)
    own = ctx.scope.keep([r for r in rows or [] if isinstance(r, dict)], lambda r: r.get("organizationId"))
    return {"items": [project(r, fields(s.END_USER)) for r in own]}


TOOLS = (
    ToolSpec(
        name="list_organizations",
        title="List NinjaOne organizations",
        description=(
            "The MSP's customer organizations in NinjaOne (id, name, approval mode, tags). A customer-bound call "
            "sees its own organization only. Cursor paged: when has_more is true, call again with cursor=next_cursor."
        ),
        input_schema=params(**CURSOR_INPUT),
        output_schema=cursor_output(s.ORGANIZATION),
        handler=_list_organizations,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_organization",
        title="Get a NinjaOne organization",
        description="One NinjaOne organization by id (a customer-bound call: its own).",
        input_schema=params(organization_id=s.ORG_ID),
        output_schema=s.ORGANIZATION,
        handler=_get_organization,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_locations",
        title="List NinjaOne locations",
        description="Locations (sites) of an organization, or of every organization when none is given. Cursor paged.",
        input_schema=params(organization_id=s.ORG_ID, **CURSOR_INPUT),
        output_schema=cursor_output(s.LOCATION),
        handler=_list_locations,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_end_users",
        title="List NinjaOne end users (contacts)",
        description="The end users (contacts) of an organization, or of every organization when none is given.",
        input_schema=params(organization_id=s.ORG_ID),
        output_schema={"type": "object", "properties": {"items": {"type": "array", "items": s.END_USER}}},
        handler=_list_end_users,
        read_only=True,
        idempotent=True,
    ),
)
