"""Small builders for the JSON schemas vendor tools declare (records, argument objects), so each vendor
module states its shapes in a line per record rather than in nested dicts.

A record's properties are all nullable (vendors leave out or null what is empty) and extra keys are
allowed, so an MCP client validating ``structuredContent`` accepts what the vendor really sends.
"""

from __future__ import annotations

from msplex.connectors.framework.paging import page_input
from msplex.connectors.framework.spec import JSON

__all__ = ["UUID", "fields", "paged_params", "params", "record"]

_T = {"i": "integer", "s": "string", "n": "number", "b": "boolean", "o": "object", "a": "array"}
UUID: JSON = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
"""An id that goes into a URL path: its pattern keeps ``/``, ``..`` and query characters out."""


def record(**props: str) -> JSON:
    """``record(id="i", name="s")``: an object whose listed properties are of that type or null."""
    return {"type": "object", "properties": {k: {"type": [_T[v], "null"]} for k, v in props.items()}}


def fields(schema: JSON) -> tuple[str, ...]:
    return tuple(schema["properties"])


def params(*required: str, **props: JSON) -> JSON:
    """A tool's input schema: these properties, ``required`` ones, nothing else."""
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def paged_params(*required: str, max_size: int = 100, **props: JSON) -> JSON:
    return params(*required, **page_input(max_size=max_size), **props)
