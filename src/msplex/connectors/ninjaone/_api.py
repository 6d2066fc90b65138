"""NinjaOne's request/response conventions, once: ``pageSize`` + ``after`` cursors, the ``df`` device filter,
ownership by organization, the error body.

Below: ``ctx.http`` (the bearer token from ``/ws/oauth/token``, pacing, 429/``Retry-After``, error
translation). Above: the tool handlers.

* Paging: lists take ``page_size`` and an opaque ``cursor`` (NinjaOne's ``after``: the last id seen).
  One more row than asked is requested, so ``has_more`` is exact and the last page is never empty.
* ``df``: built here from typed arguments (numbers are numbers, enums are enums) with the bound
  customer's ``org = N`` always first; a raw ``df`` from the model is accepted only when every
  clause follows the documented grammar, and clauses are only ever joined by ``AND``, so no text
  can widen the organization filter.
* Scoping: a NinjaOne *organization* is an MSPlex customer. Records carry ``organizationId`` (devices,
  locations, end users) or ``clientId`` (tickets); each is checked against the bound customer, and
  a foreign record and a missing one get the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from msplex.connectors.framework import JSON, ToolContext, ToolError, VendorError
from msplex.connectors.framework.records import get_record

__all__ = [
    "CURSOR_INPUT",
    "checked_df",
    "cursor_output",
    "cursor_result",
    "device_filter",
    "error_message",
    "get_owned",
    "list_after",
    "org_of",
    "own_device",
    "project",
]

MAX_PAGE = 100
CURSOR_INPUT: dict[str, JSON] = {
    "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 25},
    "cursor": {
        "type": "integer",
        "minimum": 0,
        "description": "Continue after this record: the next_cursor of the previous page (omit for the first page).",
    },
}
_NUMBERS = r"\d+(\s*,\s*\d+)*"
_CLAUSES = (
    re.compile(
        rf"(org|loc|id|role|policy)\s*(=|!=)\s*\d+|(org|loc|id|role|policy)\s+(not\s+)?in\s*\(\s*{_NUMBERS}\s*\)",
        re.IGNORECASE,
    ),
    re.compile(r"class\s*(=|!=)\s*[A-Z_]+|class\s+(not\s+)?in\s*\(\s*[A-Z_]+(\s*,\s*[A-Z_]+)*\s*\)", re.IGNORECASE),
    re.compile(r"status\s*(=|!=)\s*(APPROVED|PENDING)", re.IGNORECASE),
    re.compile(r"online|offline", re.IGNORECASE),
    re.compile(r"created\s+(after|before)\s+\d{4}-\d{2}-\d{2}", re.IGNORECASE),
)


def project(record: Any, fields: Iterable[str]) -> JSON:
    return {f: record[f] for f in fields if f in record} if isinstance(record, dict) else {}


def org_of(ctx: ToolContext, requested: Any) -> int | None:
    """The organization a request is about: the bound customer's (another refused), else the one given."""
    pinned = ctx.scope.pin(requested)
    return None if pinned is None else int(pinned)


def checked_df(raw: str) -> str:
    """A model's ``df``, clause by clause against the documented grammar; ``ToolError`` for anything else."""
    clauses = [c.strip() for c in re.split(r"\s+and\s+", raw.strip(), flags=re.IGNORECASE)]
    for clause in clauses:
        if not any(p.fullmatch(clause) for p in _CLAUSES):
            raise ToolError(
                f"df: {clause[:60]!r} is not a NinjaOne device filter clause (see the tool description); "
                "clauses are joined with AND only"
            )
    return " AND ".join(clauses)


def device_filter(ctx: ToolContext, args: Mapping[str, Any]) -> str | None:
    """``df`` from typed arguments, the customer's organization first."""
    clauses: list[str] = []
    org = org_of(ctx, args.get("organization_id"))
    if org is not None:
        clauses.append(f"org = {org}")
    if args.get("location_id") is not None:
        clauses.append(f"loc = {int(args['location_id'])}")
    if args.get("node_classes"):
        clauses.append(f"class in ({', '.join(args['node_classes'])})")
    if args.get("approval"):
        clauses.append(f"status = {args['approval']}")
    if args.get("online") is not None:
        clauses.append("online" if args["online"] else "offline")
    if args.get("created_after"):
        clauses.append(f"created after {args['created_after']}")
    if args.get("df"):
        clauses.append(checked_df(str(args["df"])))
    return " AND ".join(clauses) or None


def cursor_output(item: JSON) -> JSON:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item},
            "page_size": {"type": "integer"},
            "has_more": {"type": "boolean"},
            "next_cursor": {"type": ["integer", "null"]},
            "note": {"type": "string"},
        },
        "required": ["items", "page_size", "has_more"],
    }


def cursor_result(items: list[Any], page_size: int, next_cursor: int | None) -> JSON:
    out: JSON = {
        "items": items,
        "page_size": page_size,
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
    }
    if next_cursor is not None:
        out["note"] = f"More results exist: call again with cursor={next_cursor} (same other arguments)."
    return out


def _rows(body: Any, what: str) -> list[JSON]:
    if not isinstance(body, list):
        raise VendorError("vendor", f"NinjaOne answered the {what} list with something that is not a list")
    return [r for r in body if isinstance(r, dict)]


async def list_after(
    ctx: ToolContext,
    path: str,
    args: Mapping[str, Any],
    *,
    fields: Iterable[str],
    owner: Callable[[JSON], Any] | None = lambda r: r.get("organizationId"),
    params: Mapping[str, Any] | None = None,
) -> JSON:
    """One cursor page of a ``pageSize``/``after`` list; rows another customer owns are dropped besides."""
    size = int(args.get("page_size", 25))
    query = {**(params or {}), "pageSize": size + 1, "after": args.get("cursor")}
    rows = _rows(await ctx.http.get(path, params=query), path.rsplit("/", 1)[-1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = int(rows[-1]["id"]) if more and rows else None
    kept = ctx.scope.keep(rows, owner) if owner is not None else rows
    keep = list(fields)
    return cursor_result([project(r, keep) for r in kept], size, next_cursor)


async def get_owned(ctx: ToolContext, path: str, what: str, owner: Callable[[JSON], Any]) -> JSON:
    """A record by id, refused (as not found) unless the call's customer owns it."""
    record = await get_record(ctx, path, what)
    ctx.scope.check(owner(record), what)
    return record


async def own_device(ctx: ToolContext, device_id: Any) -> JSON:
    return await get_owned(ctx, f"v2/device/{int(device_id)}", f"device {device_id}", lambda r: r.get("organizationId"))


def error_message(response: httpx.Response) -> str | None:
    """NinjaOne's ``{resultCode, errorMessage, incidentId}`` (the incident id is what its support asks for)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or None
    if not isinstance(body, dict):
        return None
    said = body.get("errorMessage") or body.get("error_description") or body.get("error")
    if not isinstance(said, str):
        return None
    incident = body.get("incidentId")
    return f"{said} (incident {incident})"[:300] if isinstance(incident, str) else said[:300]
