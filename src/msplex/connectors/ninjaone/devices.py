"""NinjaOne devices (list by filter, search, get with software, patches, disks and health), their activities,
and alerts (list, reset).

Device lists filter with ``df`` built by ``_api.device_filter`` (the bound customer's ``org = N``
first, typed arguments, a raw ``df`` only when every clause is in the documented grammar). A device
named by id is fetched and its organization checked before anything about it is returned; an alert
is reset only when it is found among the customer's own alerts.
"""

from __future__ import annotations

from typing import Any

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec, VendorError
from msplex.connectors.framework.schema import UUID, fields, params
from msplex.connectors.ninjaone import _schemas as s
from msplex.connectors.ninjaone._api import (
    CURSOR_INPUT,
    MAX_PAGE,
    cursor_output,
    cursor_result,
    device_filter,
    list_after,
    org_of,
    own_device,
    project,
)

__all__ = ["TOOLS"]

_DEVICE = fields(s.DEVICE)
_PARTS = {"software": "software", "patches": "os-patches", "disks": "disks"}
_SEARCH_WINDOW = 200
"""Rows a bound call's search reads before it keeps its own (the search endpoint has no organization filter)."""


async def _list_devices(ctx: ToolContext, args: JSON) -> JSON:
    return await list_after(ctx, "v2/devices", args, fields=_DEVICE, params={"df": device_filter(ctx, args)})


async def _search(ctx: ToolContext, args: JSON) -> JSON:
    size = int(args.get("limit", 25))
    window = _SEARCH_WINDOW if ctx.scope.bound else size + 1
    body = await ctx.http.get("v2/devices/search", params={"q": args["query"], "limit": window})
    rows = body.get("devices") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise VendorError("vendor", "NinjaOne answered the device search with something that is not a result")
    own = ctx.scope.keep([r for r in rows if isinstance(r, dict)], lambda r: r.get("organizationId"))
    out: JSON = {
        "items": [project(r, _DEVICE) for r in own[:size]],
        "truncated": len(own) > size or len(rows) >= window,
    }
    if out["truncated"]:
        out["note"] = "More devices match: use a more specific query, or list_devices with filters."
    return out


async def _get_device(ctx: ToolContext, args: JSON) -> JSON:
    did = args["device_id"]
    device = await own_device(ctx, did)
    out = project(device, fields(s.DEVICE_DETAIL))
    include = set(args.get("include") or [])
    for part in include & set(_PARTS):
        out[part] = await ctx.http.get(f"v2/device/{did}/{_PARTS[part]}")
    if "health" in include:
        report = await ctx.http.get("v2/queries/device-health", params={"df": f"id = {did}"})
        results = report.get("results") if isinstance(report, dict) else None
        out["health"] = results[0] if isinstance(results, list) and results else None
    return out


async def _activities(ctx: ToolContext, args: JSON) -> JSON:
    did, size = args["device_id"], int(args.get("page_size", 25))
    await own_device(ctx, did)
    body = await ctx.http.get(
        f"v2/device/{did}/activities", params={"pageSize": size + 1, "olderThan": args.get("cursor")}
    )
    rows = body.get("activities") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise VendorError("vendor", "NinjaOne answered the activities with something that is not a list")
    more = len(rows) > size
    rows = [r for r in rows[:size] if isinstance(r, dict)]
    items = [project(r, fields(s.ACTIVITY)) for r in rows if r.get("deviceId") == did]
    return cursor_result(items, size, int(rows[-1]["id"]) if more and rows else None)


async def _alerts(ctx: ToolContext, args: JSON) -> list[JSON]:
    """The alerts of the call's scope: one device's (owned), or every device the filter selects."""
    if args.get("device_id") is not None:
        await own_device(ctx, args["device_id"])
        rows = await ctx.http.get(f"v2/device/{args['device_id']}/alerts")
    else:
        query = {"df": device_filter(ctx, args), "sourceType": args.get("source_type")}
        rows = await ctx.http.get("v2/alerts", params=query)
    alerts = [r for r in rows or [] if isinstance(r, dict)]
    if ctx.scope.bound:
        mine = await _own_device_ids(ctx)
        alerts = [a for a in alerts if a.get("deviceId") in mine]
    return alerts


async def _own_device_ids(ctx: ToolContext) -> set[Any]:
    """Every device id of the bound organization (alerts name a device, not an organization)."""
    found: set[Any] = set()
    after: int | None = None
    while True:
        query = {"df": f"org = {org_of(ctx, None)}", "pageSize": 1000, "after": after}
        rows = [r for r in await ctx.http.get("v2/devices", params=query) or [] if isinstance(r, dict)]
        found |= {r.get("id") for r in rows if ctx.scope.owns(r.get("organizationId"))}
        if len(rows) < 1000:
            return found
        after = int(rows[-1]["id"])


async def _list_alerts(ctx: ToolContext, args: JSON) -> JSON:
    return {"items": [project(a, fields(s.ALERT)) for a in await _alerts(ctx, args)]}


async def _reset_alert(ctx: ToolContext, args: JSON) -> JSON:
    uid = args["alert_uid"]
    if ctx.scope.bound and uid not in {a.get("uid") for a in await _alerts(ctx, {})}:
        raise ToolError(f"alert {uid} not found")
    try:
        await ctx.http.post(f"v2/alert/{uid}/reset")
    except VendorError as exc:
        if exc.kind == "not_found":
            raise ToolError(f"alert {uid} not found") from None
        raise
    return {"reset": uid}


_FILTERS: dict[str, JSON] = {
    "organization_id": s.ORG_ID,
    "location_id": s.ID,
    "node_classes": {"type": "array", "items": {"type": "string", "enum": s.NODE_CLASSES}, "minItems": 1},
    "approval": {"type": "string", "enum": ["APPROVED", "PENDING"]},
    "online": {"type": "boolean", "description": "true: online devices only; false: offline only."},
    "created_after": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
    "df": {
        "type": "string",
        "maxLength": 500,
        "description": (
            "Optional extra NinjaOne device filter, AND-ed to the others. Clauses joined by AND: "
            "org|loc|id|role|policy = N (or !=, in (1, 2), not in (...)); class = WINDOWS_SERVER (or in (...)); "
            "status = APPROVED|PENDING; online; offline; created after|before YYYY-MM-DD. Example: "
            "'class in (WINDOWS_SERVER) AND offline'. OR and other syntax are refused."
        ),
    },
}
_DEVICE_ID = {"device_id": {**s.ID, "description": "The NinjaOne device id (list_devices, search_devices)."}}

TOOLS = (
    ToolSpec(
        name="list_devices",
        title="List NinjaOne devices",
        description=(
            "NinjaOne devices (name, class, organization, location, online/offline, approval) selected by "
            "organization, location, device class, approval, online state, creation date or an extra df filter. "
            "A customer-bound call sees its own organization's devices. Cursor paged: when has_more is true, call "
            "again with cursor=next_cursor."
        ),
        input_schema=params(**_FILTERS, **CURSOR_INPUT),
        output_schema=cursor_output(s.DEVICE),
        handler=_list_devices,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="search_devices",
        title="Search NinjaOne devices by name",
        description=(
            "Devices whose system, display or DNS name contains the query (at most limit; refine when truncated)."
        ),
        input_schema=params(
            "query",
            query={"type": "string", "minLength": 2, "maxLength": 100},
            limit={"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 25},
        ),
        output_schema={
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": s.DEVICE},
                "truncated": {"type": "boolean"},
                "note": {"type": "string"},
            },
            "required": ["items", "truncated"],
        },
        handler=_search,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_device",
        title="Get a NinjaOne device with details",
        description=(
            "One NinjaOne device with its OS, hardware and last user; include adds its installed software, OS "
            "patches, disks and health (device-health report)."
        ),
        input_schema=params(
            "device_id",
            **_DEVICE_ID,
            include={"type": "array", "items": {"type": "string", "enum": [*_PARTS, "health"]}, "uniqueItems": True},
        ),
        output_schema=s.DEVICE_DETAIL,
        handler=_get_device,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_device_activities",
        title="List a NinjaOne device's activities",
        description=(
            "A device's activity log (conditions triggered, actions run, logins), newest first. Cursor paged: "
            "call again with cursor=next_cursor for older entries."
        ),
        input_schema=params("device_id", **_DEVICE_ID, **CURSOR_INPUT),
        output_schema=cursor_output(s.ACTIVITY),
        handler=_activities,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_alerts",
        title="List NinjaOne alerts",
        description=(
            "Active alerts (triggered conditions): of one device, or of the devices the filters select "
            "(the same filters as list_devices), optionally of one source type such as CONDITION_DISK_USAGE."
        ),
        input_schema=params(**_FILTERS, device_id=s.ID, source_type={"type": "string", "pattern": "^[A-Z_]{1,64}$"}),
        output_schema={"type": "object", "properties": {"items": {"type": "array", "items": s.ALERT}}},
        handler=_list_alerts,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="reset_alert",
        title="Reset a NinjaOne alert",
        description="Reset (clear) an alert by its uid (list_alerts); it triggers again if the condition persists.",
        input_schema=params("alert_uid", alert_uid={**UUID, "description": "The alert's uid."}),
        output_schema={"type": "object", "properties": {"reset": {"type": "string"}}, "required": ["reset"]},
        handler=_reset_alert,
        read_only=False,
        idempotent=True,
    ),
)
