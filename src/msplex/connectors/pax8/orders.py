"""Pax8 products, live pricing and orders.

Pricing is read from Pax8 on every call (never cached): a price is what the MSP pays now. Ordering
is two tools: ``preview_order`` prices each line live and runs Pax8's dry run (``isMock=true``,
nothing ordered) so a person sees exactly what would be billed; ``create_order`` is the billable,
approval-gated write (destructive by annotation, so the default policy asks a person): it takes
the unit prices the preview showed, re-reads them live and refuses when one changed, runs the dry
run again, and only then places the order. Partner buy rates are the MSP's own commercial data,
so pricing and ordering are unavailable to a customer-bound call; its own orders it may read.
"""

from __future__ import annotations

from typing import Any

from msplex.connectors.framework import JSON, Effects, ToolContext, ToolError, ToolSpec, VendorError, When, paged_output
from msplex.connectors.framework.schema import fields, paged_params, params
from msplex.connectors.pax8 import _schemas as s
from msplex.connectors.pax8._api import (
    MAX_SIZE,
    company_for,
    get_owned,
    get_record,
    list_page,
    project,
    refuse_bound,
)

__all__ = ["TOOLS", "unit_price"]

_PRODUCT = fields(s.PRODUCT)
_ORDER = fields(s.ORDER)
_CENT = 0.005


def unit_price(rows: list[Any], term: str, quantity: int) -> float | None:
    """The partner buy rate of ``quantity`` units on ``term`` from Pax8's pricing rows (quantity bands)."""
    for row in rows:
        if not isinstance(row, dict) or row.get("billingTerm") != term:
            continue
        for rate in row.get("rates") or []:
            low, high = rate.get("startQuantityRange") or 1, rate.get("endQuantityRange")
            if low <= quantity and (high is None or quantity <= high) and rate.get("partnerBuyRate") is not None:
                return float(rate["partnerBuyRate"])
    return None


async def _pricing_rows(ctx: ToolContext, product: str, company: str | None) -> list[Any]:
    try:
        body = await ctx.http.get(f"products/{product}/pricing", params={"companyId": company})
    except VendorError as exc:
        if exc.kind == "not_found":
            raise ToolError(f"product {product} not found") from None
        raise
    rows = body.get("content") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise VendorError("vendor", "Pax8 answered the pricing with something that is not a list")
    return rows


async def _list_products(ctx: ToolContext, args: JSON) -> JSON:
    query = {"search": args.get("search"), "vendorName": args.get("vendor_name")}
    return await list_page(ctx, "products", args, fields=_PRODUCT, params=query, owner=None)


async def _get_product(ctx: ToolContext, args: JSON) -> JSON:
    return project(await get_record(ctx, f"products/{args['product_id']}", f"product {args['product_id']}"), _PRODUCT)


async def _get_pricing(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "Product pricing")
    rows = await _pricing_rows(ctx, args["product_id"], args.get("company_id"))
    return {"items": [project(r, fields(s.PRICING)) for r in rows if isinstance(r, dict)]}


async def _list_orders(ctx: ToolContext, args: JSON) -> JSON:
    return await list_page(
        ctx, "orders", args, fields=_ORDER, params={"companyId": ctx.scope.pin(args.get("company_id"))}
    )


async def _get_order(ctx: ToolContext, args: JSON) -> JSON:
    return project(await get_owned(ctx, f"orders/{args['order_id']}", f"order {args['order_id']}"), _ORDER)


async def _priced(ctx: ToolContext, company: str, lines: list[JSON]) -> list[JSON]:
    out: list[JSON] = []
    for n, line in enumerate(lines, 1):
        rows = await _pricing_rows(ctx, line["product_id"], company)
        price = unit_price(rows, line["billing_term"], line["quantity"])
        if price is None:
            raise ToolError(f"line {n}: Pax8 has no {line['billing_term']} price for {line['quantity']} units")
        out.append({
            "product_id": line["product_id"], "billing_term": line["billing_term"], "quantity": line["quantity"],
            "unit_price": price, "line_total": round(price * line["quantity"], 2),
        })  # fmt: skip
    return out


def _order_body(company: str, lines: list[JSON]) -> JSON:
    items = [
        {
            "productId": line["product_id"], "quantity": line["quantity"], "billingTerm": line["billing_term"],
            "lineItemNumber": n,
            "provisioningDetails": [{"key": k, "values": [v]} for k, v in (line.get("provisioning") or {}).items()],
        }
        for n, line in enumerate(lines, 1)
    ]  # fmt: skip
    return {"companyId": company, "lineItems": items}


async def _dry_run(ctx: ToolContext, company: str, lines: list[JSON]) -> JSON:
    mock = await ctx.http.post("orders", params={"isMock": "true"}, json=_order_body(company, lines))
    return project(mock, _ORDER)


def _summary(priced: list[JSON]) -> float:
    return round(sum(float(p["line_total"]) for p in priced), 2)


async def _preview(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "Ordering")
    company = company_for(ctx, args.get("company_id"), "order")
    priced = await _priced(ctx, company, args["lines"])
    order = await _dry_run(ctx, company, args["lines"])
    note = (
        "Nothing was ordered (Pax8 dry run). To place it, call create_order with the same company_id and lines, "
        "each with the unit_price shown here; it needs a person's approval."
    )
    return {"dry_run": True, "order": order, "lines": priced, "total": _summary(priced), "note": note}


async def _create(ctx: ToolContext, args: JSON) -> JSON:
    refuse_bound(ctx, "Ordering")
    company = company_for(ctx, args.get("company_id"), "order")
    priced = await _priced(ctx, company, args["lines"])
    for n, (line, now) in enumerate(zip(args["lines"], priced, strict=True), 1):
        if abs(float(line["unit_price"]) - now["unit_price"]) > _CENT:
            raise ToolError(
                f"line {n}: the price changed from {line['unit_price']} to {now['unit_price']} since the preview; "
                "nothing was ordered: run preview_order again and have the new price approved"
            )
    await _dry_run(ctx, company, args["lines"])
    order = await ctx.http.post("orders", json=_order_body(company, args["lines"]))
    ctx.scope.check(order.get("companyId") if isinstance(order, dict) else None, "the created order")
    return {"dry_run": False, "order": project(order, _ORDER), "lines": priced, "total": _summary(priced)}


_LINE: JSON = {
    "type": "object",
    "properties": {
        "product_id": s.id_of("product"),
        "quantity": {"type": "integer", "minimum": 1, "maximum": 100000},
        "billing_term": {"type": "string", "enum": ["Monthly", "Annual", "2-Year", "3-Year", "One-Time", "Trial"]},
        "provisioning": {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 500},
            "description": 'Provisioning details by key, e.g. {"tenantDomain": "acme.onmicrosoft.com"}.',
        },
    },
    "required": ["product_id", "quantity", "billing_term"],
    "additionalProperties": False,
}
_PRICED_LINE = {**_LINE, "properties": {**_LINE["properties"], "unit_price": {"type": "number", "minimum": 0}}}
_PRICED_LINE["required"] = [*_LINE["required"], "unit_price"]
_RESULT: JSON = {
    "type": "object",
    "properties": {
        "dry_run": {"type": "boolean"},
        "order": s.ORDER,
        "lines": {"type": "array", "items": {"type": "object"}},
        "total": {"type": "number"},
        "note": {"type": "string"},
    },
    "required": ["dry_run", "order", "lines", "total"],
}

TOOLS = (
    ToolSpec(
        name="list_products",
        title="Search the Pax8 product catalogue",
        description="Pax8 products (name, vendor, SKU) by words in the name or SKU, or by vendor name. Paged.",
        input_schema=paged_params(
            max_size=MAX_SIZE, search={"type": "string", "minLength": 1}, vendor_name={"type": "string", "minLength": 1}
        ),
        output_schema=paged_output(s.PRODUCT),
        handler=_list_products,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_product",
        title="Get a Pax8 product",
        description="One Pax8 product by id.",
        input_schema=params("product_id", product_id=s.id_of("product")),
        output_schema=s.PRODUCT,
        handler=_get_product,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_product_pricing",
        title="Get a product's current Pax8 pricing",
        description=(
            "A Pax8 product's prices per billing term and quantity band (partnerBuyRate: what the MSP pays; "
            "suggestedRetailPrice), read live from Pax8 every time, optionally for one company's special pricing. "
            "Unavailable to a customer-bound call."
        ),
        input_schema=params("product_id", product_id=s.id_of("product"), company_id=s.COMPANY_ID),
        output_schema={"type": "object", "properties": {"items": {"type": "array", "items": s.PRICING}}},
        handler=_get_pricing,
        read_only=True,
    ),
    ToolSpec(
        name="list_orders",
        title="List Pax8 orders",
        description="Orders placed with Pax8, optionally for one company (a customer-bound call: its own). Paged.",
        input_schema=paged_params(max_size=MAX_SIZE, company_id=s.COMPANY_ID),
        output_schema=paged_output(s.ORDER),
        handler=_list_orders,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_order",
        title="Get a Pax8 order",
        description="One Pax8 order with its line items.",
        input_schema=params("order_id", order_id=s.id_of("order")),
        output_schema=s.ORDER,
        handler=_get_order,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="preview_order",
        title="Price and dry-run a Pax8 order",
        description=(
            "Prices each line live and validates the order with Pax8's dry run (isMock=true): NOTHING is ordered "
            "or billed. Always call this before create_order and show the lines, unit prices and total to the "
            'person. Microsoft products need provisioning {"tenantDomain": ...}.'
        ),
        input_schema=params(
            "company_id",
            "lines",
            company_id=s.COMPANY_ID,
            lines={"type": "array", "items": _LINE, "minItems": 1, "maxItems": 50},
        ),
        output_schema=_RESULT,
        handler=_preview,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="create_order",
        title="Place a Pax8 order (billable)",
        description=(
            "Places a Pax8 order: new subscriptions that are BILLED to the MSP. Give exactly the lines of a "
            "preview_order, each with the unit_price it showed; the price is re-read and the order refused if it "
            "changed. Runs the dry run again before ordering. Needs a person's approval."
        ),
        input_schema=params(
            "company_id",
            "lines",
            company_id=s.COMPANY_ID,
            lines={"type": "array", "items": _PRICED_LINE, "minItems": 1, "maxItems": 50},
        ),
        output_schema=_RESULT,
        handler=_create,
        read_only=False,
        destructive=True,
        effects=Effects(billable=When()),
    ),
)
