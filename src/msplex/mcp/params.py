"""``Mcp-Param-*`` headers (2026-07-28, ``x-mcp-header``): check them against the body.

A tool's ``inputSchema`` may mark top-level-reachable properties with
``x-mcp-header: Token``; a client then mirrors the argument into the header
``Mcp-Param-Token`` so intermediaries can route on it. A gateway is such an
intermediary: what it would route on must be what the upstream executes, so
header and argument must agree (present together, equal after the Base64
sentinel is decoded) or the call is refused with ``HeaderMismatch``. Only
statically reachable ``properties`` chains count; a schema whose annotations
are malformed validates nothing (clients drop such tools).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from msplex.mcp.wire import decode_header_value

__all__ = ["param_header_mismatch"]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_PRIMITIVE = ("string", "integer", "boolean")


def _annotated(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Mapping[str, Any]]]:
    if not isinstance(schema, Mapping):
        return
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for name, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        token = sub.get("x-mcp-header")
        if token is not None:
            yield (*path, name), token, sub
        yield from _annotated(sub, (*path, name))


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _valid(schema: Any) -> list[tuple[tuple[str, ...], str, Mapping[str, Any]]]:
    found = list(_annotated(schema))
    seen: set[str] = set()
    for _, token, sub in found:
        if not isinstance(token, str) or not _TOKEN.match(token) or sub.get("type") not in _PRIMITIVE:
            return []
        if token.lower() in seen:
            return []
        seen.add(token.lower())
    return found


def param_header_mismatch(schema: Any, arguments: Any, headers: Mapping[str, str]) -> str | None:
    """Why the ``Mcp-Param-*`` headers disagree with ``arguments``, or ``None`` when they agree."""
    if not isinstance(arguments, Mapping):
        arguments = {}
    for path, token, sub in _valid(schema):
        header = f"mcp-param-{token.lower()}"
        raw = headers.get(header)
        value: Any = arguments
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        rendered = _render(value) if value is not None else None
        name = f"Mcp-Param-{token}"
        if rendered is None:
            if raw is not None:
                return f"{name} header is present but the argument {'.'.join(path)!r} is absent"
            continue
        if raw is None:
            return f"{name} header is missing but the argument {'.'.join(path)!r} is present"
        decoded = decode_header_value(raw)
        if decoded is None:
            return f"{name} header carries a malformed Base64 value"
        if decoded != rendered and not _same_number(sub.get("type"), value, decoded):
            return f"{name} header does not match the argument {'.'.join(path)!r}"
    return None


def _same_number(kind: Any, value: Any, decoded: str) -> bool:
    if kind != "integer" or isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return float(decoded) == float(value) and re.fullmatch(r"-?\d+(\.0+)?", decoded) is not None
    except ValueError:
        return False
