"""Pax8's request/response conventions, once: 0-based pages, the error envelope, ownership by ``companyId``.

Below: ``ctx.http`` (the bearer token from ``/v1/token``, pacing, 429 backoff, error translation).
Above: the tool handlers, which name resources and typed filters.

* Paging: the tool's 1-based ``page``/``page_size`` are Pax8's ``page - 1``/``size`` (``size`` at most
  200); there is more while ``page < totalPages`` (Pax8 says ``page`` or, in its spec, ``pageInfo``).
* Scoping: a Pax8 *company* is an MSPlex customer. Every list that can be filtered by company is
  pinned to the bound customer's ``companyId``; every record read or changed by id is checked
  against it; a foreign record and a missing one get the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from msplex.connectors.framework import JSON, ToolContext, ToolError, VendorError, page_result
from msplex.connectors.framework.records import get_record

__all__ = [
    "MAX_SIZE",
    "company_for",
    "error_message",
    "get_owned",
    "get_record",
    "list_page",
    "project",
    "refuse_bound",
]

MAX_SIZE = 200


def project(record: Any, fields: Iterable[str]) -> JSON:
    return {f: record[f] for f in fields if f in record} if isinstance(record, dict) else {}


def company_for(ctx: ToolContext, requested: Any, what: str) -> str:
    """The company a request is about: the bound customer's (a foreign one refused), else the one given."""
    pinned = ctx.scope.pin(requested)
    if pinned is None:
        raise ToolError(f"company_id is required: which company's {what}? (list_companies)")
    return pinned


def refuse_bound(ctx: ToolContext, what: str) -> None:
    if ctx.scope.bound:
        raise ToolError(f"{what}: unavailable to a call bound to a customer (it reads the MSP's own Pax8 account)")


async def list_page(
    ctx: ToolContext,
    path: str,
    args: Mapping[str, Any],
    *,
    fields: Iterable[str],
    params: Mapping[str, Any] | None = None,
    owner: str | None = "companyId",
) -> JSON:
    """One page of a Pax8 list; rows another customer owns are dropped besides (the query is pinned already)."""
    page, size = int(args.get("page", 1)), int(args.get("page_size", 25))
    body = await ctx.http.get(path, params={**(params or {}), "page": page - 1, "size": size})
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise VendorError("vendor", f"Pax8 answered {path} with something that is not a page")
    info = body.get("page") or body.get("pageInfo") or {}
    rows = [r for r in body["content"] if isinstance(r, dict)]
    kept = ctx.scope.keep(rows, lambda r: r.get(owner)) if owner is not None else rows
    pages = info.get("totalPages") if isinstance(info, dict) else None
    more = isinstance(pages, int) and page < pages
    total = info.get("totalElements") if isinstance(info, dict) and len(kept) == len(rows) else None
    keep = list(fields)
    return page_result(
        [project(r, keep) for r in kept], page=page, page_size=size, has_more=more,
        total=total if isinstance(total, int) else None,
    )  # fmt: skip


async def get_owned(ctx: ToolContext, path: str, what: str, owner: str = "companyId") -> JSON:
    """``get_record``, refused (as not found) unless the call's customer owns it."""
    record = await get_record(ctx, path, what)
    ctx.scope.check(record.get(owner), what)
    return record


def error_message(response: httpx.Response) -> str | None:
    """Pax8's ``{type, message, instance, status, details[]}``: the details say which field to fix.
    The token endpoint's ``{error, error_description}`` is read too."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or None
    if not isinstance(body, dict):
        return None
    parts = [str(body[k]) for k in ("message", "error_description", "error") if isinstance(body.get(k), str)][:1]
    for detail in body.get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("message"), str):
            parts.append(detail["message"])
    return "; ".join(parts)[:300] or None
