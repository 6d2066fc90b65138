"""2026-07-28 routing headers: ``Mcp-Name`` and ``Mcp-Param-*`` (``x-mcp-header``).

The encoding mirrors the spec's rule: printable ASCII without edge whitespace
passes verbatim, anything else travels as ``=?base64?...?=``.
"""

from __future__ import annotations

import base64
import re
from typing import Any

__all__ = ["NAME_KEYS", "encode_header_value", "param_header_map", "param_headers"]

NAME_KEYS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

_SAFE = re.compile(r"[\x20-\x7E]*")
_SENTINEL = re.compile(r"=\?base64\?.*\?=")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def encode_header_value(value: str) -> str:
    if _SAFE.fullmatch(value) and value == value.strip() and not _SENTINEL.fullmatch(value):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode('ascii')}?="


ParamMap = tuple[tuple[tuple[str, ...], str], ...]


def param_header_map(input_schema: Any) -> ParamMap:
    """``(property path, header token)`` for each ``x-mcp-header`` reachable through ``properties`` only."""
    found: list[tuple[tuple[str, ...], str]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), input_schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, dict):
            continue
        token = node.get("x-mcp-header")
        typed = node.get("type") in ("string", "integer", "boolean")
        if path and typed and isinstance(token, str) and _TOKEN.fullmatch(token):
            found.append((path, token))
        props = node.get("properties")
        if isinstance(props, dict):
            stack.extend(((*path, k), v) for k, v in props.items())
    return tuple(sorted(found))


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def param_headers(mapping: ParamMap, arguments: Any) -> dict[str, str]:
    """The ``Mcp-Param-*`` headers a ``tools/call`` mirrors from its arguments."""
    out: dict[str, str] = {}
    for path, token in mapping:
        node = arguments
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        rendered = _render(node) if node is not None else None
        if rendered is not None:
            out[f"Mcp-Param-{token}"] = encode_header_value(rendered)
    return out
