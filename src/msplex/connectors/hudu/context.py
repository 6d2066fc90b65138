"""Hudu websites, activity logs, and the one-call company context.

Two Hudu lists cannot be filtered by company, so scoping is done here: ``/websites`` has no
``company_id`` filter (its records carry one: foreign ones are dropped from each page, and the page
still says whether Hudu had more), and activity log entries carry no company at all, so a call
bound to a customer must name the record whose history it wants (``resource_type`` and
``resource_id``), and that record's owner is checked first.
"""

from __future__ import annotations

import asyncio

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec, page_result
from msplex.connectors.hudu._api import SNIPPET, asset, fetch_one, fetch_page, owner, owner_of_resource, plain, text_of
from msplex.connectors.hudu._schemas import (
    ACTIVITY,
    ARTICLE_SUMMARY,
    ASSET,
    COMPANY,
    COMPANY_ID,
    PASSWORD,
    PROCEDURE,
    WEBSITE,
    obj,
    paged,
)
from msplex.connectors.hudu.passwords import shape

__all__ = ["TOOLS"]

CONTEXT_SIZE = 25


async def websites_list(ctx: ToolContext, args: JSON) -> JSON:
    page, size = args.get("page", 1), args.get("page_size", 25)
    cid = ctx.scope.pin(args.get("company_id"))
    raw = await fetch_page(ctx, "websites", {"search": args.get("search")}, page=page, page_size=size)
    items = [w for w in ctx.scope.keep(raw, owner) if cid is None or str(w.get("company_id")) == cid]
    return page_result(items, page=page, page_size=size, has_more=len(raw) >= size)


async def activity_logs_list(ctx: ToolContext, args: JSON) -> JSON:
    page, size = args.get("page", 1), args.get("page_size", 25)
    kind, rid = args.get("resource_type"), args.get("resource_id")
    if (kind is None) != (rid is None):
        raise ToolError("give resource_type and resource_id together")
    if ctx.scope.bound:
        if kind is None or rid is None:
            raise ToolError(
                "a caller bound to a customer must name the record whose activity it wants (resource_type and "
                "resource_id): Hudu's activity log does not say which company an entry belongs to"
            )
        ctx.scope.check(await owner_of_resource(ctx, str(kind), int(rid)), f"{kind} {rid}")
    params = {
        "resource_type": kind,
        "resource_id": rid,
        "user_email": args.get("user_email"),
        "action_message": args.get("action"),
        "start_date": args.get("since"),
    }
    raw = await fetch_page(ctx, "activity_logs", params, page=page, page_size=size)
    items = raw
    if ctx.scope.bound:  # Hudu filtered on the record; keep only entries that say so
        items = [e for e in raw if e.get("resource_type") == kind and e.get("resource_id") == rid]
    return page_result(items, page=page, page_size=size, has_more=len(raw) >= size)


async def company_context(ctx: ToolContext, args: JSON) -> JSON:
    cid = ctx.scope.pin(args.get("company_id"))
    if cid is None:
        raise ToolError("company_id is required (see companies_list)")
    company_id = int(cid)
    company, assets, articles, passwords, procedures, websites = await asyncio.gather(
        fetch_one(ctx, "companies", company_id),
        _section(ctx, "assets", company_id),
        _section(ctx, "articles", company_id),
        _section(ctx, "asset_passwords", company_id),
        _section(ctx, "procedures", company_id),
        _websites(ctx, company_id),
    )
    ctx.scope.check(company.get("id"), f"company {company_id}")
    passwords["items"] = [shape(p) for p in passwords["items"]]
    assets["items"] = [asset(a) for a in assets["items"]]
    articles["items"] = [
        {**{k: a.get(k) for k in ("id", "name", "company_id", "draft", "updated_at")}, "snippet": _snip(a)}
        for a in articles["items"]
    ]
    return {
        "company": plain(company),
        "assets": assets,
        "articles": articles,
        "passwords": passwords,
        "procedures": procedures,
        "websites": websites,
    }


def _snip(article: JSON) -> str:
    return text_of(article.get("content"), SNIPPET)


async def _section(ctx: ToolContext, resource: str, company_id: int) -> JSON:
    raw = await fetch_page(ctx, resource, {"company_id": company_id}, page=1, page_size=CONTEXT_SIZE)
    items = [r for r in ctx.scope.keep(raw, owner) if r.get("company_id") == company_id]
    return _cut(items, len(raw) >= CONTEXT_SIZE, resource)


async def _websites(ctx: ToolContext, company_id: int) -> JSON:
    raw = await fetch_page(ctx, "websites", {}, page=1, page_size=100)
    items = [w for w in ctx.scope.keep(raw, owner) if w.get("company_id") == company_id]
    return _cut(items, len(raw) >= 100, "websites")


def _cut(items: list[JSON], more: bool, resource: str) -> JSON:
    section: JSON = {"items": items, "has_more": more}
    if more:
        section["note"] = f"Only the first page is shown; list the rest with the {resource} list tool."
    return section


def _section_schema(item: JSON) -> JSON:
    return {
        "type": "object",
        "properties": {"items": {"type": "array", "items": item}, "has_more": {"type": "boolean"}, "note": {}},
        "required": ["items", "has_more"],
    }


_WEB_IN, _WEB_OUT = paged({"company_id": COMPANY_ID, "search": {"type": "string"}}, WEBSITE)
_LOG_FILTERS: JSON = {
    "resource_type": {
        "type": "string",
        "description": "Record type: Company, Asset, Article, AssetPassword, Website, Procedure.",
    },
    "resource_id": {"type": "integer", "minimum": 1},
    "user_email": {"type": "string"},
    "action": {"type": "string", "description": "Exact action, e.g. 'viewed', 'updated'."},
    "since": {"type": "string", "description": "ISO 8601 date or time: entries from then on."},
}
_LOG_IN, _LOG_OUT = paged(_LOG_FILTERS, ACTIVITY)

TOOLS = (
    ToolSpec(
        name="websites_list",
        title="List Hudu websites",
        description="List monitored websites and domains (status, monitoring state), optionally for one company. "
        "Paged (1-based): when has_more is true, call again with page=next_page; a page filtered to one company "
        "may hold fewer items than page_size while more exist.",
        input_schema=_WEB_IN,
        output_schema=_WEB_OUT,
        handler=websites_list,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="activity_logs_list",
        title="List Hudu activity logs",
        description="Who did what in Hudu, newest first: filter by record (resource_type with resource_id), user, "
        "action or start date. A caller bound to a customer must name one of its records. Paged (1-based): when "
        "has_more is true, call again with page=next_page.",
        input_schema=_LOG_IN,
        output_schema=_LOG_OUT,
        handler=activity_logs_list,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="company_context",
        title="Hudu company context",
        description="Everything documented about one company in one call: the company, its assets, articles "
        "(snippets), passwords (redacted), procedures and websites, each the first page with has_more. Start "
        "here when working on a customer; then use the list tools for more.",
        input_schema=obj({"company_id": COMPANY_ID}),
        output_schema={
            "type": "object",
            "properties": {
                "company": COMPANY,
                "assets": _section_schema(ASSET),
                "articles": _section_schema(ARTICLE_SUMMARY),
                "passwords": _section_schema(PASSWORD),
                "procedures": _section_schema(PROCEDURE),
                "websites": _section_schema(WEBSITE),
            },
            "required": ["company", "assets", "articles", "passwords", "procedures", "websites"],
        },
        handler=company_context,
        read_only=True,
        idempotent=True,
    ),
)
