"""Pax8 subscriptions, their history and usage, seat changes and cancellations; the partner's invoices.

A subscription is its company's: lists are pinned to the bound customer's ``companyId``, and a
subscription or usage summary named by id is fetched and its company checked before anything about
it is returned or changed. A seat change and a cancellation are billable; both are annotated
destructive (fewer seats unassign licences; a cancellation ends the service), so the default
policy asks a person. Invoices are Pax8's bill to the MSP (every company on one invoice): the
MSP's own data, unavailable to a customer-bound call.
"""

from __future__ import annotations

from msplex.connectors.framework import JSON, Effects, ToolContext, ToolError, ToolSpec, When, paged_output
from msplex.connectors.framework.schema import fields, paged_params, params
from msplex.connectors.pax8 import _schemas as s
from msplex.connectors.pax8._api import MAX_SIZE, get_owned, get_record, list_page, project, refuse_bound

__all__ = ["TOOLS"]

_SUB = fields(s.SUBSCRIPTION)


async def _subscription(ctx: ToolContext, sid: str) -> JSON:
    return await get_owned(ctx, f"subscriptions/{sid}", f"subscription {sid}")


async def _list(ctx: ToolContext, args: JSON) -> JSON:
    query = {
        "companyId": ctx.scope.pin(args.get("company_id")),
        "productId": args.get("product_id"),
        "status": args.get("status"),
        "billingTerm": args.get("billing_term"),
    }
    return await list_page(ctx, "subscriptions", args, fields=_SUB, params=query)


async def _get(ctx: ToolContext, args: JSON) -> JSON:
    return project(await _subscription(ctx, args["subscription_id"]), _SUB)


async def _history(ctx: ToolContext, args: JSON) -> JSON:
    sid = args["subscription_id"]
    await _subscription(ctx, sid)
    rows = await ctx.http.get(f"subscriptions/{sid}/history")
    rows = rows.get("content") if isinstance(rows, dict) else rows
    own = ctx.scope.keep([r for r in rows or [] if isinstance(r, dict)], lambda r: r.get("companyId"))
    return {"items": [project(r, fields(s.HISTORY)) for r in own]}


async def _usage(ctx: ToolContext, args: JSON) -> JSON:
    sid = args["subscription_id"]
    await _subscription(ctx, sid)
    return await list_page(ctx, f"subscriptions/{sid}/usage-summaries", args, fields=fields(s.USAGE_SUMMARY))


async def _usage_lines(ctx: ToolContext, args: JSON) -> JSON:
    uid = args["usage_summary_id"]
    await get_owned(ctx, f"usage-summaries/{uid}", f"usage summary {uid}")
    return await list_page(
        ctx, f"usage-summaries/{uid}/usage-lines", args, fields=fields(s.USAGE_LINE),
        params={"usageDate": args.get("usage_date")}, owner=None,
    )  # fmt: skip


async def _seats(ctx: ToolContext, args: JSON) -> JSON:
    sid = args["subscription_id"]
    current = await _subscription(ctx, sid)
    if current.get("status") == "Cancelled":
        raise ToolError(f"subscription {sid} is cancelled; order a new one instead")
    saved = await ctx.http.put(f"subscriptions/{sid}", json={"quantity": args["quantity"]})
    return {"previous_quantity": current.get("quantity"), "subscription": project(saved, _SUB)}


async def _cancel(ctx: ToolContext, args: JSON) -> JSON:
    sid = args["subscription_id"]
    await _subscription(ctx, sid)
    await ctx.http.delete(f"subscriptions/{sid}", params={"cancelDate": args.get("cancel_date")})
    return project(await get_record(ctx, f"subscriptions/{sid}", f"subscription {sid}"), _SUB)


async def _invoices(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "Pax8 invoices")
    query = {"companyId": args.get("company_id")}
    return await list_page(ctx, "invoices", args, fields=fields(s.INVOICE), params=query, owner=None)


async def _invoice(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "Pax8 invoices")
    iid = args["invoice_id"]
    return project(await get_record(ctx, f"invoices/{iid}", f"invoice {iid}"), fields(s.INVOICE))


async def _invoice_items(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "Pax8 invoices")
    iid = args["invoice_id"]
    return await list_page(
        ctx, f"invoices/{iid}/items", args, fields=fields(s.INVOICE_ITEM), params={"companyId": args.get("company_id")},
        owner=None,
    )  # fmt: skip


_SID = {"subscription_id": s.id_of("subscription")}
_STATUS = ["Active", "Cancelled", "PendingManual", "PendingAutomated", "PendingCancel", "WaitingForDetails", "Trial"]
_TERM = {"type": "string", "enum": ["Monthly", "Annual", "2-Year", "3-Year", "One-Time", "Trial", "Activation"]}
_SEATS_OUT: JSON = {
    "type": "object",
    "properties": {"previous_quantity": {"type": ["integer", "null"]}, "subscription": s.SUBSCRIPTION},
    "required": ["subscription"],
}

TOOLS = (
    ToolSpec(
        name="list_subscriptions",
        title="List Pax8 subscriptions",
        description=(
            "Pax8 subscriptions (product, quantity of seats, price, billing term, status) by company, product, "
            "status or billing term. A customer-bound call sees its own company's. Paged."
        ),
        input_schema=paged_params(
            max_size=MAX_SIZE,
            company_id=s.COMPANY_ID,
            product_id=s.id_of("product"),
            status={"type": "string", "enum": _STATUS},
            billing_term=_TERM,
        ),
        output_schema=paged_output(s.SUBSCRIPTION),
        handler=_list,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_subscription",
        title="Get a Pax8 subscription",
        description="One Pax8 subscription by id.",
        input_schema=params("subscription_id", **_SID),
        output_schema=s.SUBSCRIPTION,
        handler=_get,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_subscription_history",
        title="A Pax8 subscription's history",
        description="Earlier states of a subscription (each seat change or cancellation), oldest first.",
        input_schema=params("subscription_id", **_SID),
        output_schema={"type": "object", "properties": {"items": {"type": "array", "items": s.HISTORY}}},
        handler=_history,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_usage_summaries",
        title="Usage of a usage-based Pax8 subscription",
        description="Usage summaries (current charges per resource group) of a usage-based subscription. Paged.",
        input_schema=paged_params("subscription_id", max_size=MAX_SIZE, **_SID),
        output_schema=paged_output(s.USAGE_SUMMARY),
        handler=_usage,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_usage_lines",
        title="Daily usage lines of a Pax8 usage summary",
        description="The daily lines (quantity, charges) of a usage summary, optionally of one day. Paged.",
        input_schema=paged_params(
            "usage_summary_id",
            max_size=MAX_SIZE,
            usage_summary_id=s.id_of("usage summary"),
            usage_date={"type": "string", "format": "date", "description": "YYYY-MM-DD"},
        ),
        output_schema=paged_output(s.USAGE_LINE),
        handler=_usage_lines,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="change_subscription_seats",
        title="Change a Pax8 subscription's seat count (billable)",
        description=(
            "Set the number of seats (quantity) of a Pax8 subscription. BILLABLE: the MSP is billed for the new "
            "count; fewer seats can unassign users' licences. Needs a person's approval."
        ),
        input_schema=params("subscription_id", "quantity", **_SID, quantity={"type": "integer", "minimum": 1}),
        output_schema=_SEATS_OUT,
        handler=_seats,
        read_only=False,
        destructive=True,
        idempotent=True,
        effects=Effects(billable=When()),
    ),
    ToolSpec(
        name="cancel_subscription",
        title="Cancel a Pax8 subscription (billable)",
        description=(
            "Cancel a Pax8 subscription, now or on cancel_date: the service ends for the company and billing "
            "stops (commitments may still be billed). It cannot be undone. Needs a person's approval."
        ),
        input_schema=params(
            "subscription_id", **_SID, cancel_date={"type": "string", "format": "date", "description": "YYYY-MM-DD"}
        ),
        output_schema=s.SUBSCRIPTION,
        handler=_cancel,
        read_only=False,
        destructive=True,
        idempotent=True,
        effects=Effects(billable=When()),
    ),
    ToolSpec(
        name="list_invoices",
        title="List Pax8 invoices",
        description=(
            "Pax8's invoices to the MSP (date, status, total, balance), optionally those with a company's items. "
            "Unavailable to a customer-bound call. Paged."
        ),
        input_schema=paged_params(max_size=MAX_SIZE, company_id=s.COMPANY_ID),
        output_schema=paged_output(s.INVOICE),
        handler=_invoices,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_invoice",
        title="Get a Pax8 invoice",
        description="One Pax8 invoice by id (list_invoice_items for its lines). Unavailable to a customer-bound call.",
        input_schema=params("invoice_id", invoice_id=s.id_of("invoice")),
        output_schema=s.INVOICE,
        handler=_invoice,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_invoice_items",
        title="List a Pax8 invoice's items",
        description="The lines of a Pax8 invoice (company, product, quantity, price, total), optionally one "
        "company's. Unavailable to a customer-bound call. Paged.",
        input_schema=paged_params(
            "invoice_id", max_size=MAX_SIZE, invoice_id=s.id_of("invoice"), company_id=s.COMPANY_ID
        ),
        output_schema=paged_output(s.INVOICE_ITEM),
        handler=_invoice_items,
        read_only=True,
        idempotent=True,
    ),
)
