"""HaloPSA time and money: time entries, agents' timesheets, client contracts, invoices.

Time is booked on ticket actions (``add_action`` with ``time_taken``); Halo rolls it up into
timesheet events, read here. Scoping: time entries are filtered to the bound customer's client
(Halo's timesheet endpoint has no client filter, so each entry's ``client_id`` is checked) and lose
their subject (the first words of the action, perhaps an internal note); an
agent's timesheet spans every customer, so a bound call cannot read it; contracts and invoices
are pinned to the client and checked like every other record.
"""

from __future__ import annotations

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec, VendorError
from msplex.connectors.halopsa import _schemas as s
from msplex.connectors.halopsa._api import client_of, local_page, path, project
from msplex.connectors.halopsa._factory import ID, get_tool, list_tool, refuse_bound

__all__ = ["TOOLS"]

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}", "description": "A date, YYYY-MM-DD."}


async def _array(ctx: ToolContext, resource: str, params: JSON) -> list[JSON]:
    body = await ctx.http.get(path(ctx, resource), params=params)
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        raise VendorError("vendor", f"HaloPSA answered {resource} with something that is not a list")
    return body


def _range(args: JSON) -> JSON:
    start, end = args.get("start_date"), args.get("end_date")
    if start and end and str(end) < str(start):
        raise ToolError("end_date is before start_date")
    return {"start_date": start, "end_date": f"{end}T23:59:59" if end and len(str(end)) == 10 else end}


async def _time_entries(ctx: ToolContext, args: JSON) -> JSON:
    client_id = ctx.scope.pin(args.get("client_id"))
    rows = await _array(ctx, "TimesheetEvent", {"agent_id": args.get("agent_id"), **_range(args)})
    rows = ctx.scope.keep(rows, client_of)
    if client_id is not None:
        rows = [r for r in rows if str(client_of(r)) == client_id]
    if args.get("ticket_id") is not None:
        rows = [r for r in rows if r.get("ticket_id") == args["ticket_id"]]
    page = local_page(rows, args, s.fields(s.EVENT))
    if ctx.scope.bound:  # a subject is the first words of its action, which may be an internal note
        page["items"] = [{**e, "subject": None} for e in page["items"]]
    return page


async def _timesheet(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "An agent's timesheet")
    rows = await _array(ctx, "Timesheet", {"agent_id": args["agent_id"], **_range(args)})
    days = [project(r, s.fields(s.TIMESHEET_DAY)) for r in rows]
    for day in days:
        day["events"] = [project(e, s.fields(s.EVENT)) for e in day.get("events") or []]
    return {"items": days, "total": len(days)}


TOOLS = (
    ToolSpec(
        name="list_time_entries",
        title="List time entries",
        description=(
            "List time booked in HaloPSA (timesheet events from ticket actions), by agent, date range, client or "
            "ticket, each with its hours (timetaken). Paged (has_more / next_page). To book time, use add_action "
            "with time_taken."
        ),
        input_schema=s.paged_params(
            agent_id={**ID, "description": "The agent (list_agents)."},
            start_date=_DATE,
            end_date=_DATE,
            client_id=ID,
            ticket_id=ID,
        ),
        output_schema=s.paged(s.EVENT),
        handler=_time_entries,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_timesheet",
        title="Get an agent's timesheet",
        description=(
            "An agent's HaloPSA timesheet: one row per day with target and actual hours and the day's time "
            "entries. Not available to a call bound to one customer (a timesheet spans customers)."
        ),
        input_schema=s.params("agent_id", "start_date", "end_date", agent_id=ID, start_date=_DATE, end_date=_DATE),
        output_schema=s.items(s.TIMESHEET_DAY),
        handler=_timesheet,
        read_only=True,
        idempotent=True,
    ),
    list_tool(
        "list_contracts",
        title="List contracts",
        description="List HaloPSA client contracts (recurring agreements, prepaid hours), by client or search; paged.",
        resource="ClientContract",
        key="contracts",
        item=s.CONTRACT,
        filters={"client_id": ID, "search": {"type": "string", "description": "Contract reference or description."}},
    ),
    get_tool(
        "get_contract",
        title="Get a contract",
        description="One HaloPSA client contract by id.",
        resource="ClientContract",
        noun="contract",
        item=s.CONTRACT,
    ),
    list_tool(
        "list_invoices",
        title="List invoices",
        description="List HaloPSA invoices, by client; paged (has_more / next_page). Read-only.",
        resource="Invoice",
        key="invoices",
        item=s.INVOICE,
        filters={"client_id": ID},
    ),
    get_tool(
        "get_invoice",
        title="Get an invoice",
        description="One HaloPSA invoice by id, with its lines.",
        resource="Invoice",
        noun="invoice",
        item=s.INVOICE,
    ),
)
