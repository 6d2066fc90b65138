"""Manage's request/response conventions, once: the codebase path, paging by ``Link``, ownership, JSON Patch.

Below: ``ctx.http`` (Basic + ``clientId`` from the vault, pacing, 429, error translation). Above:
the tool handlers, which name resources and typed filters and never build a query string.

* Paths: ``{codebase}/apis/3.0/{resource}`` under the site root (``--codebase``, default
  ``v4_6_release``), or just ``{resource}`` when the base URL already ends in ``/apis/3.0``.
* Paging: the tool's 1-based ``page``/``page_size`` are Manage's ``page``/``pageSize``; there is
  more exactly when the ``Link`` header has ``rel="next"``.
* Scoping: every list is filtered by the customer's company id in ``conditions`` (``_conditions``),
  and every record read or changed by id is checked against the call's customer; a foreign record
  and a missing one get the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
import orjson

from msplex.connectors.connectwise._conditions import all_of, number
from msplex.connectors.framework import JSON, ToolContext, VendorError, page_result
from msplex.connectors.framework.records import get_record

__all__ = [
    "DEFAULT_CODEBASE",
    "company_of",
    "customer_clause",
    "error_message",
    "get_owned",
    "get_record",
    "list_page",
    "path",
    "project",
]

DEFAULT_CODEBASE = "v4_6_release"
Owner = Callable[[JSON], Any]


def path(ctx: ToolContext, resource: str, *ids: Any) -> str:
    base = ctx.config.base_url.rstrip("/")
    tail = "/".join([resource, *(str(number(i)) for i in ids)])
    if base.endswith("/apis/3.0"):
        return tail
    codebase = (ctx.config.settings.get("codebase") or DEFAULT_CODEBASE).strip("/")
    return f"{codebase}/apis/3.0/{tail}"


def company_of(record: JSON) -> Any:
    company = record.get("company")
    return company.get("id") if isinstance(company, dict) else None


def customer_clause(ctx: ToolContext, requested: Any, field: str = "company/id") -> str | None:
    """``company/id=N`` for the bound customer (a foreign ``requested`` is refused) or the caller's choice."""
    pinned = ctx.scope.pin(requested)
    return None if pinned is None else f"{field}={number(pinned, 'company_id')}"


def project(record: JSON, fields: Iterable[str]) -> JSON:
    return {f: record[f] for f in fields if f in record}


def _rows(response: httpx.Response, what: str) -> list[JSON]:
    try:
        rows = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        rows = None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise VendorError("vendor", f"ConnectWise answered the {what} list with something that is not a list")
    return rows


async def list_page(
    ctx: ToolContext,
    resource: str,
    args: Mapping[str, Any],
    *,
    clauses: Iterable[str | None],
    fields: Iterable[str],
    owner: Owner | None,
    order_by: str = "id desc",
    params: Mapping[str, Any] | None = None,
) -> JSON:
    """One page of a Manage list; ``clauses`` are AND-ed (the customer's first), foreign rows dropped besides."""
    page, size = int(args.get("page", 1)), int(args.get("page_size", 25))
    keep = list(fields)
    query = {
        "conditions": all_of(*clauses),
        "orderBy": order_by,
        "fields": ",".join(keep),
        "page": page,
        "pageSize": size,
        **(params or {}),
    }
    response = await ctx.http.send("GET", resource, params=query)
    rows = _rows(response, resource.rsplit("/", 1)[-1])
    if owner is not None:
        rows = ctx.scope.keep(rows, owner)
    more = "next" in response.links
    return page_result([project(r, keep) for r in rows], page=page, page_size=size, has_more=more)


async def get_owned(ctx: ToolContext, resource: str, what: str, owner: Owner = company_of) -> JSON:
    """``get_record``, refused (as not found) unless the call's customer owns it."""
    record = await get_record(ctx, resource, what)
    ctx.scope.check(owner(record), what)
    return record


def error_message(response: httpx.Response) -> str | None:
    """Manage's ``{code, message, errors: [{message, field}]}``: the field-level messages say what to fix."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or None
    if not isinstance(body, dict):
        return None
    parts = [str(body["message"])] if isinstance(body.get("message"), str) else []
    for err in body.get("errors") or []:
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            field = f" ({err['field']})" if isinstance(err.get("field"), str) else ""
            parts.append(f"{err['message']}{field}")
    return "; ".join(parts)[:300] or None
