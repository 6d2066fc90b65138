"""JSON schemas of the Manage records the tools return (the fields each asks Manage for) and of their inputs.

Records keep Manage's shapes (references are ``{id, name, ...}`` objects); every field is nullable
because Manage leaves out what is empty, and an MCP client validates ``structuredContent`` against these.
"""

from __future__ import annotations

from typing import Any

from msplex.connectors.framework import JSON, page_input, paged_output

__all__ = [
    "AGREEMENT",
    "ARTICLE",
    "BOARD",
    "COMPANY",
    "CONDITIONS",
    "CONFIGURATION",
    "CONTACT",
    "ID",
    "INVOICE",
    "NOTE",
    "PRIORITY",
    "SCHEDULE",
    "SITE",
    "STATUS",
    "TASK",
    "TICKET",
    "TIME_ENTRY",
    "TYPE",
    "fields",
    "paged",
    "paged_params",
    "params",
]

_T = {"i": "integer", "s": "string", "n": "number", "b": "boolean", "o": "object", "a": "array"}
ID: JSON = {"type": "integer", "minimum": 1}
CONDITIONS: JSON = {
    "type": "string",
    "maxLength": 2000,
    "description": (
        "Optional extra Manage conditions, AND-ed to the other filters, e.g. "
        'summary contains "VPN" and priority/name = "Priority 1 - Critical". Strings in double quotes '
        '(escape " and \\ with \\); dates as [2026-11-01T00:00:00Z]; operators = != < > <= >= like contains in.'
    ),
}


def _record(**props: str) -> JSON:
    return {"type": "object", "properties": {k: {"type": [_T[v], "null"]} for k, v in props.items()}}


def fields(schema: JSON) -> tuple[str, ...]:
    return tuple(schema["properties"])


def params(*required: str, **props: JSON) -> JSON:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def paged_params(**props: JSON) -> JSON:
    return params(**page_input(), **props)


def paged(item: JSON) -> JSON:
    return paged_output(item)


def _info() -> dict[str, Any]:
    return {"_info": "o"}


TICKET = _record(
    id="i", summary="s", board="o", status="o", company="o", contact="o", priority="o", owner="o", type="o",
    closedFlag="b", initialDescription="s", **_info(),
)  # fmt: skip
NOTE = _record(
    id="i", ticketId="i", text="s", detailDescriptionFlag="b", internalAnalysisFlag="b", resolutionFlag="b",
    createdBy="s", dateCreated="s",
)  # fmt: skip
TASK = _record(id="i", ticketId="i", notes="s", closedFlag="b", priority="i")
COMPANY = _record(id="i", identifier="s", name="s", status="o", city="s", phoneNumber="s", deletedFlag="b")
CONTACT = _record(id="i", firstName="s", lastName="s", title="s", company="o", communicationItems="a", inactiveFlag="b")
SITE = _record(id="i", name="s", city="s", addressLine1="s", company="o")
CONFIGURATION = _record(
    id="i", name="s", type="o", company="o", status="o", activeFlag="b", serialNumber="s", ipAddress="s"
)
TIME_ENTRY = _record(
    id="i", company="o", chargeToId="i", chargeToType="s", member="o", timeStart="s", timeEnd="s", actualHours="n",
    notes="s", billableOption="s",
)  # fmt: skip
SCHEDULE = _record(id="i", objectId="i", type="o", member="o", dateStart="s", dateEnd="s", name="s")
AGREEMENT = _record(
    id="i", name="s", type="o", company="o", billAmount="n", agreementStatus="s", startDate="s", endDate="s"
)
INVOICE = _record(id="i", invoiceNumber="s", company="o", total="n", balance="n", date="s", status="o")
ARTICLE = _record(id="i", title="s", issue="s", resolution="s")
BOARD = _record(id="i", name="s")
STATUS = _record(id="i", name="s", closedStatus="b", defaultFlag="b")
PRIORITY = _record(id="i", name="s", sortOrder="i")
TYPE = _record(id="i", name="s")
