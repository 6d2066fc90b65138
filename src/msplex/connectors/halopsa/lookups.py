"""The HaloPSA lookups a model needs to fill a ticket or an action: statuses, ticket types, categories,
outcomes, agents. They are configuration of the MSP's Halo, not customer data, so every caller may read
them (customer-bound ones too). Halo returns each whole, as a bare array."""

from __future__ import annotations

from msplex.connectors.framework import JSON, ToolContext, ToolSpec, VendorError
from msplex.connectors.halopsa import _schemas as s
from msplex.connectors.halopsa._api import path, project
from msplex.connectors.halopsa._factory import ID

__all__ = ["TOOLS"]


def _lookup(name: str, title: str, description: str, resource: str, item: JSON, **filters: JSON) -> ToolSpec:
    fields = s.fields(item)

    async def handler(ctx: ToolContext, args: JSON) -> JSON:
        body = await ctx.http.get(path(ctx, resource), params={k: args.get(k) for k in filters})
        if not isinstance(body, list):
            raise VendorError("vendor", f"HaloPSA answered {resource} with something that is not a list")
        rows = [project(r, fields) for r in body if isinstance(r, dict)]
        return {"items": rows, "total": len(rows)}

    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_schema=s.params(**filters),
        output_schema=s.items(item),
        handler=handler,
        read_only=True,
        idempotent=True,
    )


TOOLS = (
    _lookup(
        "list_statuses",
        "List ticket statuses",
        "HaloPSA ticket statuses (id, name, and type: open or closed), for status_id and new_status_id.",
        "Status",
        s.STATUS,
    ),
    _lookup(
        "list_ticket_types",
        "List ticket types",
        "HaloPSA ticket types (Incident, Service Request, ...), for ticket_type_id.",
        "TicketType",
        s.TICKET_TYPE,
    ),
    _lookup(
        "list_categories",
        "List ticket categories",
        "HaloPSA ticket categories; pass the value (e.g. 'Hardware>Laptop') as a ticket's category.",
        "Category",
        s.CATEGORY,
        type_id={**ID, "description": "Which category field (1 = category 1).", "default": 1},
    ),
    _lookup(
        "list_outcomes",
        "List action outcomes",
        "HaloPSA action outcomes (Private Note, Email User, ...) for add_action's outcome, with whether each is "
        "hidden from the user or emails them by default.",
        "Outcome",
        s.OUTCOME,
    ),
    _lookup(
        "list_agents",
        "List agents",
        "HaloPSA agents (the MSP's technicians), for agent_id.",
        "Agent",
        s.AGENT,
    ),
)
