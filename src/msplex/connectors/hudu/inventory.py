"""Hudu companies, assets and asset layouts: list, get, and find an asset by name, IP or MAC.

Scoping: a call bound to a customer sees its own company only; every asset list is filtered on
its ``company_id`` and every asset returned is checked against it. Asset layouts are the MSP's
templates (no company owns them), so every caller may read them.
"""

from __future__ import annotations

import re
from typing import Any

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec, page_result, paged_output
from msplex.connectors.hudu._api import asset, fetch_one, fetch_page, owner, plain, scoped_page
from msplex.connectors.hudu._schemas import ASSET, COMPANY, COMPANY_ID, LAYOUT, obj, paged

__all__ = ["TOOLS"]

SCAN_PAGE = 100
"""Assets per Hudu page while scanning field values (Hudu cannot filter on them)."""
_HEX = re.compile(r"[^0-9a-f]")


async def companies_list(ctx: ToolContext, args: JSON) -> JSON:
    page, size = args.get("page", 1), args.get("page_size", 25)
    search = args.get("search")
    if ctx.scope.bound:
        company = await fetch_one(ctx, "companies", int(str(ctx.scope.vendor_id)))
        hit = not search or str(search).lower() in str(company.get("name", "")).lower()
        return page_result([plain(company)] if hit and page == 1 else [], page=page, page_size=size, has_more=False)
    items = await fetch_page(ctx, "companies", {"search": search}, page=page, page_size=size)
    return page_result([plain(c) for c in items], page=page, page_size=size)


async def company_get(ctx: ToolContext, args: JSON) -> JSON:
    cid = ctx.scope.pin(args["company_id"])
    company = await fetch_one(ctx, "companies", int(str(cid)))
    ctx.scope.check(company.get("id"), f"company {args['company_id']}")
    return plain(company)


async def assets_list(ctx: ToolContext, args: JSON) -> JSON:
    params = {
        "asset_layout_id": args.get("asset_layout_id"),
        "search": args.get("search"),
        "archived": "true" if args.get("archived") else None,
    }
    return await scoped_page(ctx, "assets", args, params, asset)


async def asset_get(ctx: ToolContext, args: JSON) -> JSON:
    aid = args["asset_id"]
    cid = ctx.scope.pin(args.get("company_id"))
    if cid is not None:
        record = await fetch_one(ctx, "assets", aid, sub=f"companies/{cid}/assets/{aid}")
    else:
        found = await fetch_page(ctx, "assets", {"id": aid}, page=1, page_size=1)
        if not found:
            raise ToolError(f"asset {aid} not found")
        record = found[0]
    ctx.scope.check(record.get("company_id"), f"asset {aid}")
    return asset(record)


async def assets_find(ctx: ToolContext, args: JSON) -> JSON:
    """By name Hudu searches itself; by IP or MAC the connector reads asset fields page by page (never a
    secret field's value: a search must not confirm a guessed password)."""
    name, ip, mac = args.get("name"), args.get("ip"), args.get("mac")
    if sum(x is not None for x in (name, ip, mac)) != 1:
        raise ToolError("give exactly one of name, ip or mac")
    cid = ctx.scope.pin(args.get("company_id"))
    page = args.get("page", 1)
    if name is not None:
        size = args.get("page_size", 25)
        raw = await fetch_page(ctx, "assets", {"company_id": cid, "search": name}, page=page, page_size=size)
        items = [asset(a) for a in ctx.scope.keep(raw, owner)]
        return page_result(items, page=page, page_size=size, has_more=len(raw) >= size)
    wanted, normal = (str(ip).strip(), str) if ip is not None else (_mac(str(mac)), _mac)
    matches: list[JSON] = []
    pages = args.get("max_pages", 5)
    current, raw = page, [{}] * SCAN_PAGE
    while current < page + pages and len(raw) >= SCAN_PAGE:
        raw = await fetch_page(ctx, "assets", {"company_id": cid}, page=current, page_size=SCAN_PAGE)
        matches += [a for a in map(asset, ctx.scope.keep(raw, owner)) if _has_value(a, wanted, normal)]
        current += 1
    more = len(raw) >= SCAN_PAGE
    result = page_result(matches, page=page, page_size=SCAN_PAGE, has_more=more)
    result["next_page"] = current if more else None
    if more:
        result["note"] = (
            f"Scanned Hudu pages {page}-{current - 1} ({SCAN_PAGE} assets each) and stopped; "
            f"call again with page={current} to scan further (same other arguments)."
        )
    return result


async def asset_layouts_list(ctx: ToolContext, args: JSON) -> JSON:
    page = args.get("page", 1)
    items = await fetch_page(ctx, "asset_layouts", {"name": args.get("name")}, page=page, page_size=25)
    return page_result(
        [plain(layout) for layout in items], page=page, page_size=25
    )  # Hudu ignores page_size here: always 25


def _mac(value: str) -> str:
    return _HEX.sub("", value.lower())


def _has_value(asset: JSON, wanted: str, normal: Any) -> bool:
    values = [f.get("value") for f in asset.get("fields") or [] if isinstance(f, dict)]
    return any(isinstance(v, str) and v and normal(v) == wanted for v in values)


_COMPANIES_IN, _COMPANIES_OUT = paged(
    {"search": {"type": "string", "description": "Part of the company name."}}, COMPANY
)
_ASSETS_IN, _ASSETS_OUT = paged(
    {
        "company_id": COMPANY_ID,
        "asset_layout_id": {"type": "integer", "description": "Only assets of this layout (see asset_layouts_list)."},
        "search": {"type": "string", "description": "Part of the asset's name or serial."},
        "archived": {"type": "boolean", "description": "true: archived assets only (default: live ones)."},
    },
    ASSET,
)
_PAGED_NOTE = " Paged (1-based): when has_more is true, call again with page=next_page."

TOOLS = (
    ToolSpec(
        name="companies_list",
        title="List Hudu companies",
        description="List the customer companies documented in Hudu, optionally by part of the name."
        + _PAGED_NOTE
        + " A caller bound to a customer sees only its own company.",
        input_schema=_COMPANIES_IN,
        output_schema=_COMPANIES_OUT,
        handler=companies_list,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="company_get",
        title="Get a Hudu company",
        description="One company by its Hudu id: address, phone, website, notes. "
        "For everything documented about a company in one call, use company_context.",
        input_schema=obj({"company_id": COMPANY_ID}, ("company_id",)),
        output_schema=COMPANY,
        handler=company_get,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="assets_list",
        title="List Hudu assets",
        description="List assets (computers, network devices, contacts, ... per asset layout) with their custom "
        "fields, optionally for one company, one layout, or by part of the name or serial." + _PAGED_NOTE,
        input_schema=_ASSETS_IN,
        output_schema=_ASSETS_OUT,
        handler=assets_list,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="asset_get",
        title="Get a Hudu asset",
        description="One asset by id, with its custom fields. Give company_id when you know it (faster).",
        input_schema=obj({"asset_id": {"type": "integer", "minimum": 1}, "company_id": COMPANY_ID}, ("asset_id",)),
        output_schema=ASSET,
        handler=asset_get,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="assets_find",
        title="Find a Hudu asset by name, IP or MAC",
        description="Find assets by exactly one of: name (part of it), ip (exact, e.g. 10.1.0.7) or mac (any "
        "separators or case). IP and MAC are matched against the assets' custom field values, scanning up to "
        f"max_pages Hudu pages of {SCAN_PAGE} assets; when has_more is true the scan stopped early: call again "
        "with page=next_page. Narrow with company_id whenever you can.",
        input_schema=obj(
            {
                "name": {"type": "string", "minLength": 1},
                "ip": {"type": "string", "minLength": 3},
                "mac": {"type": "string", "minLength": 6},
                "company_id": COMPANY_ID,
                "page": {"type": "integer", "minimum": 1, "default": 1},
                "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                "max_pages": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
            }
        ),
        output_schema=paged_output(ASSET),
        handler=assets_find,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="asset_layouts_list",
        title="List Hudu asset layouts",
        description="List asset layouts (the templates assets follow: Computer, Network Device, ...) with their "
        "field definitions; use a layout's id to filter assets_list. Pages of 25 (Hudu's fixed size here)."
        + _PAGED_NOTE,
        input_schema=obj(
            {
                "name": {"type": "string", "description": "Exact layout name."},
                "page": {"type": "integer", "minimum": 1, "default": 1},
            }
        ),
        output_schema=paged_output(LAYOUT),
        handler=asset_layouts_list,
        read_only=True,
        idempotent=True,
    ),
)
