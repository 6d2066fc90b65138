"""Halo's request/response conventions, once: resource paths, the paging quirk, array writes, ownership.

Below: ``ctx.http`` (auth, pacing, 429, error translation). Above: the tool handlers, which
speak in Halo resources and never build a query string or a write body themselves.

* Paging: Halo ignores ``page_size`` unless ``page_no`` is on the same request, so every paged
  read sends ``pageinate``, ``page_size`` and ``page_no`` together, and reports ``record_count``
  as the total (never a silently short list).
* Writes: ``POST /api/{Resource}`` with a JSON array of one element (``id`` in it means update).
* Ownership: a record fetched by id is checked against the call's customer; a missing and a
  foreign record get the same answer, so ids of other customers cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from msplex.connectors.framework import JSON, ToolContext, ToolError, VendorError, page_result

__all__ = [
    "DEFAULT_PAGE",
    "client_of",
    "get_owned",
    "get_record",
    "list_page",
    "local_page",
    "path",
    "project",
    "write_one",
]

DEFAULT_PAGE = 25
Owner = Callable[[JSON], Any]


def path(ctx: ToolContext, resource: str, rid: Any = None) -> str:
    """``api/{resource}[/{rid}]``, or without ``api/`` when the instance's base URL is already the API root."""
    prefix = "" if ctx.config.base_url.rstrip("/").endswith("/api") else "api/"
    return f"{prefix}{resource}" if rid is None else f"{prefix}{resource}/{int(rid)}"


def project(record: JSON, fields: Iterable[str]) -> JSON:
    """Only the fields a tool documents (Halo records carry hundreds; a model pays for each)."""
    return {f: record[f] for f in fields if f in record}


def _rows(body: Any, key: str, what: str) -> list[JSON]:
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise VendorError("vendor", f"HaloPSA answered the {what} list without its '{key}' array")
    return rows


async def list_page(
    ctx: ToolContext,
    resource: str,
    key: str,
    args: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    owner: Owner | None,
    fields: Iterable[str],
) -> JSON:
    """One page of a Halo list (``args`` carries ``page``/``page_size``), foreign records dropped."""
    page, size = int(args.get("page", 1)), int(args.get("page_size", DEFAULT_PAGE))
    query = {**params, "pageinate": "true", "page_size": size, "page_no": page}
    body = await ctx.http.get(path(ctx, resource), params=query)
    rows = _rows(body, key, resource)
    if owner is not None:
        rows = ctx.scope.keep(rows, owner)
    total = body.get("record_count")
    keep = list(fields)
    return page_result(
        [project(r, keep) for r in rows], page=page, page_size=size, total=total if isinstance(total, int) else None
    )


def local_page(rows: list[JSON], args: Mapping[str, Any], fields: Iterable[str]) -> JSON:
    """Page a list Halo returns whole (bare arrays: lookups, timesheet events) the same way."""
    page, size = int(args.get("page", 1)), int(args.get("page_size", DEFAULT_PAGE))
    keep = list(fields)
    window = rows[(page - 1) * size : page * size]
    return page_result([project(r, keep) for r in window], page=page, page_size=size, total=len(rows))


async def get_record(
    ctx: ToolContext, resource: str, rid: Any, what: str, params: Mapping[str, Any] | None = None
) -> JSON:
    """One record by id; Halo's 404 (whatever its body) becomes "{what} not found"."""
    try:
        record = await ctx.http.get(path(ctx, resource, rid), params=params)
    except VendorError as exc:
        if exc.kind == "not_found":
            raise ToolError(f"{what} not found") from None
        raise
    if not isinstance(record, dict):
        raise VendorError("vendor", f"HaloPSA answered {what} with something that is not a record")
    return record


async def get_owned(
    ctx: ToolContext, resource: str, rid: Any, what: str, owner: Owner, params: Mapping[str, Any] | None = None
) -> JSON:
    """``get_record``, refused (as not found) unless the call's customer owns it."""
    record = await get_record(ctx, resource, rid, what, params)
    ctx.scope.check(owner(record), what)
    return record


async def write_one(ctx: ToolContext, resource: str, element: JSON) -> JSON:
    """Create (no ``id``) or update one record: Halo takes an array and answers the saved record."""
    saved = await ctx.http.post(path(ctx, resource), json=[element])
    if isinstance(saved, list) and len(saved) == 1:
        saved = saved[0]
    if not isinstance(saved, dict) or "id" not in saved:
        raise VendorError("vendor", f"HaloPSA did not answer the saved {resource} record")
    return saved


def client_of(record: JSON) -> Any:
    return record.get("client_id")
