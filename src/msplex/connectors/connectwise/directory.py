"""ConnectWise directory tools: companies, contacts, sites, configurations, and the service lookups.

A company is an MSPlex customer (``msplex customer map C --connector connectwise --vendor-id
COMPANY_ID``); a bound call sees its own company only. Boards, statuses, types and priorities belong
to no customer: anyone the tools are enabled for may list them.
"""

from __future__ import annotations

from msplex.connectors.connectwise import _schemas as s
from msplex.connectors.connectwise._api import customer_clause, list_page, path
from msplex.connectors.connectwise._conditions import number
from msplex.connectors.connectwise._factory import contains, eq, flag, get_tool, like, list_tool
from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec
from msplex.connectors.framework.spec import Handler

__all__ = ["TOOLS"]

_ID = s.ID
_TEXT: JSON = {"type": "string", "minLength": 1}


async def _sites(ctx: ToolContext, args: JSON) -> JSON:
    pinned = ctx.scope.pin(args.get("company_id"))
    if pinned is None:
        raise ToolError("company_id is required: whose sites? (list_companies)")
    company = number(pinned, "company_id")
    return await list_page(
        ctx, path(ctx, "company/companies", company) + "/sites", args, clauses=[], fields=s.fields(s.SITE),
        owner=None, order_by="id asc",
    )  # fmt: skip


async def _board_children(ctx: ToolContext, args: JSON, child: str, item: JSON) -> JSON:
    return await list_page(
        ctx, path(ctx, "service/boards", args["board_id"]) + f"/{child}", args, clauses=[],
        fields=s.fields(item), owner=None, order_by="id asc",
    )  # fmt: skip


async def _statuses(ctx: ToolContext, args: JSON) -> JSON:
    return await _board_children(ctx, args, "statuses", s.STATUS)


async def _types(ctx: ToolContext, args: JSON) -> JSON:
    return await _board_children(ctx, args, "types", s.TYPE)


async def _companies(ctx: ToolContext, args: JSON) -> JSON:
    clauses = [customer_clause(ctx, None, "id"), "deletedFlag = false"]
    if args.get("name_starts_with"):
        clauses.append(like("name")(args["name_starts_with"]))
    return await list_page(
        ctx, path(ctx, "company/companies"), args, clauses=clauses, fields=s.fields(s.COMPANY),
        owner=lambda r: r.get("id"), order_by="name asc",
    )  # fmt: skip


def _board_list(name: str, title: str, child: str, item: JSON, handler: Handler) -> ToolSpec:
    return ToolSpec(
        name=name,
        title=title,
        description=f"The {child} of a ConnectWise service board (list_boards), paged.",
        input_schema=s.paged_params(board_id=_ID) | {"required": ["board_id"]},
        output_schema=s.paged(item),
        handler=handler,
        read_only=True,
        idempotent=True,
    )


TOOLS = (
    ToolSpec(
        name="list_companies",
        title="List companies",
        description=(
            "ConnectWise companies (the MSP's customers), by name prefix, alphabetical. A call bound to a customer "
            "sees only its own company. Paged: when has_more is true, call again with page=next_page."
        ),
        input_schema=s.paged_params(name_starts_with=_TEXT),
        output_schema=s.paged(s.COMPANY),
        handler=_companies,
        read_only=True,
        idempotent=True,
    ),
    get_tool(
        "get_company",
        title="Get a company",
        description="One ConnectWise company by id.",
        resource="company/companies",
        noun="company",
        item=s.COMPANY,
        customer="id",
    ),
    list_tool(
        "list_contacts",
        title="List contacts",
        description="A company's ConnectWise contacts (people), by name, paged.",
        resource="company/contacts",
        item=s.CONTACT,
        filters={
            "first_name": (_TEXT, like("firstName")),
            "last_name": (_TEXT, like("lastName")),
            "inactive": ({"type": "boolean"}, flag("inactiveFlag")),
        },
        order_by="lastName asc",
    ),
    get_tool(
        "get_contact",
        title="Get a contact",
        description="One ConnectWise contact by id.",
        resource="company/contacts",
        noun="contact",
        item=s.CONTACT,
    ),
    ToolSpec(
        name="list_sites",
        title="List a company's sites",
        description="A ConnectWise company's sites (addresses), paged.",
        input_schema=s.paged_params(company_id=_ID),
        output_schema=s.paged(s.SITE),
        handler=_sites,
        read_only=True,
        idempotent=True,
    ),
    list_tool(
        "list_configurations",
        title="List configurations (assets)",
        description=(
            "ConnectWise configurations (devices and other assets) of a company, by name, type or status, paged."
        ),
        resource="company/configurations",
        item=s.CONFIGURATION,
        filters={
            "name_contains": (_TEXT, contains("name")),
            "type": ({"type": "string", "description": "Configuration type name, e.g. 'Server'."}, eq("type/name")),
            "active": ({"type": "boolean"}, flag("activeFlag")),
        },
        order_by="name asc",
    ),
    get_tool(
        "get_configuration",
        title="Get a configuration",
        description="One ConnectWise configuration by id.",
        resource="company/configurations",
        noun="configuration",
        item=s.CONFIGURATION,
    ),
    list_tool(
        "list_boards",
        title="List service boards",
        description="The ConnectWise service boards (queues), paged.",
        resource="service/boards",
        item=s.BOARD,
        filters={"name_contains": (_TEXT, contains("name"))},
        customer="none",
        order_by="name asc",
    ),
    _board_list("list_board_statuses", "List a board's statuses", "statuses", s.STATUS, _statuses),
    _board_list("list_board_types", "List a board's ticket types", "types", s.TYPE, _types),
    list_tool(
        "list_priorities",
        title="List priorities",
        description="The ConnectWise ticket priorities, paged.",
        resource="service/priorities",
        item=s.PRIORITY,
        filters={},
        customer="none",
        order_by="sortOrder asc",
    ),
)
