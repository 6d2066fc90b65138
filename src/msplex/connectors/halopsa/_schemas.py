"""JSON schemas of the Halo records the tools return (what ``_api.project`` keeps) and of their inputs.

Every record field is nullable: Halo leaves fields out or sends ``null`` depending on the record
and the instance's configuration, and an MCP client validates ``structuredContent`` against these.
"""

from __future__ import annotations

from typing import Any

from msplex.connectors.framework import JSON, page_input, paged_output

__all__ = [
    "ACTION",
    "AGENT",
    "ARTICLE",
    "ASSET",
    "CATEGORY",
    "CLIENT",
    "CONTRACT",
    "EVENT",
    "INVOICE",
    "OUTCOME",
    "SITE",
    "STATUS",
    "TICKET",
    "TICKET_TYPE",
    "TIMESHEET_DAY",
    "USER",
    "fields",
    "items",
    "paged",
    "paged_params",
    "params",
]

_T = {"i": "integer", "s": "string", "n": "number", "b": "boolean"}


def _record(**props: Any) -> JSON:
    """``id="i", name="s"``: nullable scalars; a dict value is used as the property's schema."""
    out = {k: v if isinstance(v, dict) else {"type": [_T[v], "null"]} for k, v in props.items()}
    return {"type": "object", "properties": out}


def fields(schema: JSON) -> tuple[str, ...]:
    return tuple(schema["properties"])


TICKET = _record(
    id="i", summary="s", details="s", client_id="i", client_name="s", site_id="i", site_name="s", user_id="i",
    user_name="s", agent_id="i", status_id="i", tickettype_id="i", priority_id="i", category_1="s",
    dateoccurred="s", lastactiondate="s",
)  # fmt: skip
ACTION = _record(
    id="i", ticket_id="i", outcome="s", outcome_id="i", note="s", hiddenfromuser="b", sendemail="b", emailto="s",
    who="s", datetime="s", timetaken="n", nonbilltime="n",
)  # fmt: skip
CLIENT = _record(id="i", name="s", inactive="b")
SITE = _record(id="i", name="s", client_id="i", client_name="s")
USER = _record(
    id="i", name="s", emailaddress="s", site_id="i", site_name="s", client_id="i", client_name="s", inactive="b"
)
ASSET = _record(
    id="i", inventory_number="s", key_field="s", client_id="i", client_name="s", site_id="i", site_name="s",
    assettype_id="i", assettype_name="s", ip_address="s", inactive="b",
)  # fmt: skip
ARTICLE = _record(id="i", name="s", description="s")
EVENT = _record(
    id="i", agent_id="i", ticket_id="i", client_id="i", action_number="i", subject="s", start_date="s", timetaken="n"
)
TIMESHEET_DAY = _record(
    agent_id="i", agent_name="s", date="s", target_hours="n", actual_hours="n",
    events={"type": "array", "items": EVENT},
)  # fmt: skip
CONTRACT = _record(
    id="i", client_id="i", client_name="s", ref="s", contract_description="s", start_date="s", end_date="s",
    active="b",
)  # fmt: skip
_LINE = _record(id="i", description="s", quantity="n", unit_price="n")
INVOICE = _record(
    id="i", client_id="i", client_name="s", invoicenumber="s", invoice_date="s", total="n",
    lines={"type": ["array", "null"], "items": _LINE},
)  # fmt: skip
STATUS = _record(id="i", name="s", type="s")
TICKET_TYPE = _record(id="i", name="s")
CATEGORY = _record(id="i", value="s", type_id="i")
OUTCOME = _record(id="i", outcome="s", hiddenfromuser="b", sendemail="b")
AGENT = _record(id="i", name="s", email="s")


def params(*required: str, **props: JSON) -> JSON:
    """An input schema: ``props``, of which ``required`` must be given; nothing else accepted."""
    schema: JSON = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def paged_params(*required: str, **props: JSON) -> JSON:
    """``params`` of a paged list: ``page`` and ``page_size`` added."""
    return params(*required, **props, **page_input())


def paged(item: JSON) -> JSON:
    return paged_output(item)


def items(item: JSON) -> JSON:
    """The output of an unpaged lookup: all of it, with its count."""
    return {
        "type": "object",
        "properties": {"items": {"type": "array", "items": item}, "total": {"type": "integer"}},
        "required": ["items", "total"],
    }
