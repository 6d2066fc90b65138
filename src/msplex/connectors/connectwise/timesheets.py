"""ConnectWise time and schedule tools: read time entries, log time on a ticket, correct an entry, the schedule.

Time is readable as well as writable (a write-only path led to double billing elsewhere), and an
entry is corrected in place rather than logged twice. A logged or corrected entry is billable unless
its billable option says otherwise; ``email_contact`` makes it client-visible. The schedule is the
MSP's own (technicians' calendars): refused to a call bound to a customer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from msplex.connectors.connectwise import _schemas as s
from msplex.connectors.connectwise._api import company_of, get_owned, path, project
from msplex.connectors.connectwise._factory import after, before, eq, eq_id, list_tool
from msplex.connectors.framework import JSON, Condition, Effects, ToolContext, ToolError, ToolSpec, When

__all__ = ["TOOLS"]

_ID = s.ID
_BILLABLE = ["Billable", "DoNotBill", "NoCharge", "NoDefault"]
_FIELDS = s.fields(s.TIME_ENTRY)
_DATE: JSON = {"type": "string", "description": "ISO 8601 date or date-time."}
_HOURS: JSON = {"type": "number", "exclusiveMinimum": 0, "maximum": 24}


def _instant(value: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"{what} must be an ISO 8601 date-time such as 2026-11-30T08:00:00Z") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _log(ctx: ToolContext, args: JSON) -> JSON:
    tid = args["ticket_id"]
    await get_owned(ctx, path(ctx, "service/tickets", tid), f"ticket {tid}")
    start = _instant(args["start"], "start")
    hours = float(args["hours"])
    body: JSON = {
        "chargeToId": tid,
        "chargeToType": "ServiceTicket",
        "timeStart": _iso(start),
        "timeEnd": _iso(start + timedelta(hours=hours)),
        "actualHours": hours,
        "notes": args.get("notes", ""),
        "billableOption": args.get("billable_option", "Billable"),
    }
    if args.get("member"):
        body["member"] = {"identifier": args["member"]}
    if args.get("email_contact"):
        body["emailContactFlag"] = True
    saved = await ctx.http.post(path(ctx, "time/entries"), json=body)
    if not isinstance(saved, dict):
        raise ToolError("ConnectWise did not answer the logged time entry")
    ctx.scope.check(company_of(saved), "the logged time entry")
    return project(saved, _FIELDS)


async def _correct(ctx: ToolContext, args: JSON) -> JSON:
    eid = args["id"]
    current = await get_owned(ctx, path(ctx, "time/entries", eid), f"time entry {eid}")
    changes: list[tuple[str, Any]] = []
    if "start" in args or "hours" in args:
        start = _instant(args.get("start") or str(current.get("timeStart", "")), "start")
        hours = float(args.get("hours") or current.get("actualHours") or 0)
        changes += [("/timeStart", _iso(start)), ("/timeEnd", _iso(start + timedelta(hours=hours)))]
        changes.append(("/actualHours", hours))
    if "notes" in args:
        changes.append(("/notes", args["notes"]))
    if "billable_option" in args:
        changes.append(("/billableOption", args["billable_option"]))
    if not changes:
        raise ToolError("nothing to correct: give start, hours, notes or billable_option")
    ops = [{"op": "replace", "path": p, "value": v} for p, v in changes]
    saved = await ctx.http.patch(path(ctx, "time/entries", eid), json=ops)
    return project(saved if isinstance(saved, dict) else {}, _FIELDS)


_NOT_BILLED = (Condition("billable_option", "not_equals", "DoNotBill", default="Billable"),)

TOOLS = (
    list_tool(
        "list_time_entries",
        title="List time entries",
        description=(
            "ConnectWise time entries, newest first, by company, ticket, member or date range. Check here before "
            "logging time so nothing is billed twice. Paged."
        ),
        resource="time/entries",
        item=s.TIME_ENTRY,
        filters={
            "ticket_id": (_ID, eq_id("chargeToId")),
            "member": ({"type": "string", "description": "Member identifier."}, eq("member/identifier")),
            "since": (_DATE, after("timeStart")),
            "until": (_DATE, before("timeStart")),
        },
        order_by="timeStart desc",
    ),
    ToolSpec(
        name="log_time",
        title="Log time on a ticket",
        description=(
            "Log time worked on a ConnectWise ticket (billable unless billable_option says otherwise). "
            "email_contact=true e-mails the entry's notes to the ticket's contact."
        ),
        input_schema=s.params(
            "ticket_id",
            "start",
            "hours",
            ticket_id=_ID,
            start=_DATE,
            hours=_HOURS,
            notes={"type": "string"},
            billable_option={"type": "string", "enum": _BILLABLE, "default": "Billable"},
            member={"type": "string", "description": "Member identifier (default: the API member)."},
            email_contact={"type": "boolean", "default": False},
        ),
        output_schema=s.TIME_ENTRY,
        handler=_log,
        read_only=False,
        effects=Effects(
            client_visible=When((Condition("email_contact", "equals", True, default=False),)),
            billable=When(_NOT_BILLED),
        ),
    ),
    ToolSpec(
        name="correct_time_entry",
        title="Correct a time entry",
        description="Correct a ConnectWise time entry in place: its start, hours, notes or billable option.",
        input_schema=s.params(
            "id",
            id=_ID,
            start=_DATE,
            hours=_HOURS,
            notes={"type": "string"},
            billable_option={"type": "string", "enum": _BILLABLE},
        ),
        output_schema=s.TIME_ENTRY,
        handler=_correct,
        read_only=False,
        idempotent=True,
        effects=Effects(billable=When()),
    ),
    list_tool(
        "list_schedule_entries",
        title="List schedule entries",
        description=(
            "The ConnectWise schedule (technicians' appointments), by member, ticket or date range, paged. "
            "The MSP's own data: unavailable to a call bound to a customer."
        ),
        resource="schedule/entries",
        item=s.SCHEDULE,
        filters={
            "member": ({"type": "string", "description": "Member identifier."}, eq("member/identifier")),
            "ticket_id": (_ID, eq_id("objectId")),
            "from_date": (_DATE, after("dateStart")),
            "to_date": (_DATE, before("dateStart")),
        },
        customer="msp",
        order_by="dateStart asc",
    ),
)
