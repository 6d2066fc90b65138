"""The shapes most Manage read tools share: a paged, customer-filtered list and a get-by-id with an owner check.

A list's typed filters become conditions through ``Clause`` builders that quote or number what the
model passed; ``customer`` names the field the bound customer's company id is pinned on (``None``:
the records belong to no customer). Data that is the MSP's own (its schedule, its knowledge base)
is refused to a call bound to a customer rather than filtered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from msplex.connectors.connectwise import _schemas as s
from msplex.connectors.connectwise._api import (
    Owner,
    company_of,
    customer_clause,
    get_owned,
    get_record,
    list_page,
    path,
)
from msplex.connectors.connectwise._api import project as _project
from msplex.connectors.connectwise._conditions import checked, date, number, quote
from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec

__all__ = [
    "Clause",
    "after",
    "before",
    "contains",
    "eq",
    "eq_id",
    "flag",
    "get_tool",
    "like",
    "list_tool",
    "refuse_bound",
]

Clause = Callable[[Any], str]
Customer = Literal["company/id", "id", "none", "msp"]
"""Where a bound customer is pinned: ``company/id`` (most records), ``id`` (the company itself),
``none`` (lookups that belong to no customer: anyone may list them), ``msp`` (the MSP's own data:
refused to a bound call)."""


def eq(field: str) -> Clause:
    return lambda v: f"{field} = {quote(v)}"


def eq_id(field: str) -> Clause:
    return lambda v: f"{field} = {number(v, field)}"


def contains(field: str) -> Clause:
    return lambda v: f"{field} contains {quote(v)}"


def like(field: str) -> Clause:
    """A prefix search (``%`` or ``*`` inside the value widen the match, never beyond the other filters)."""
    return lambda v: f"{field} like {quote(str(v) + '%')}"


def after(field: str) -> Clause:
    return lambda v: f"{field} >= {date(str(v), field)}"


def before(field: str) -> Clause:
    return lambda v: f"{field} < {date(str(v), field)}"


def flag(field: str) -> Clause:
    return lambda v: f"{field} = {'true' if v else 'false'}"


def refuse_bound(ctx: ToolContext, what: str) -> None:
    if ctx.scope.bound:
        raise ToolError(f"{what}: unavailable to a call bound to a customer (it reads the MSP's own data)")


def _owner(customer: Customer) -> Owner | None:
    if customer == "company/id":
        return company_of
    if customer == "id":
        return lambda record: record.get("id")
    return None


def list_tool(
    name: str,
    *,
    title: str,
    description: str,
    resource: str,
    item: JSON,
    filters: Mapping[str, tuple[JSON, Clause]],
    customer: Customer = "company/id",
    order_by: str = "id desc",
) -> ToolSpec:
    """A paged list; ``filters`` are tool arguments turned into conditions; a raw ``conditions`` is accepted too."""
    fields = s.fields(item)
    owner = _owner(customer)

    async def handler(ctx: ToolContext, args: JSON) -> JSON:
        if customer == "msp":
            refuse_bound(ctx, title)
        pinned = customer_clause(ctx, args.get("company_id"), customer) if owner is not None else None
        clauses = [build(args[arg]) for arg, (_, build) in filters.items() if args.get(arg) not in (None, "")]
        raw = checked(args["conditions"]) if args.get("conditions") else None
        return await list_page(
            ctx, path(ctx, resource), args, clauses=[pinned, *clauses, raw], fields=fields, owner=owner,
            order_by=order_by,
        )  # fmt: skip

    props: dict[str, JSON] = {arg: schema for arg, (schema, _) in filters.items()}
    if owner is not None:
        props["company_id"] = {**s.ID, "description": "Only this company's records (list_companies)."}
    props["conditions"] = s.CONDITIONS
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_schema=s.paged_params(**props),
        output_schema=s.paged(item),
        handler=handler,
        read_only=True,
        idempotent=True,
    )


def get_tool(
    name: str, *, title: str, description: str, resource: str, noun: str, item: JSON, customer: Customer = "company/id"
) -> ToolSpec:
    """One record by id, refused (as not found) unless the call's customer owns it."""
    fields = s.fields(item)
    owner = _owner(customer)

    async def handler(ctx: ToolContext, args: JSON) -> JSON:
        what = f"{noun} {args['id']}"
        if owner is None:
            if customer == "msp":
                refuse_bound(ctx, title)
            return _project(await get_record(ctx, path(ctx, resource, args["id"]), what), fields)
        return _project(await get_owned(ctx, path(ctx, resource, args["id"]), what, owner), fields)

    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_schema=s.params("id", id=s.ID),
        output_schema=item,
        handler=handler,
        read_only=True,
        idempotent=True,
    )
