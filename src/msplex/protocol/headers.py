"""2026-07-28 routing headers: ``Mcp-Name`` and ``Mcp-Param-*`` (``x-mcp-header``).

One reading of a tool's ``inputSchema`` serves both directions: the edge checks
that a client's ``Mcp-Param-*`` headers agree with its arguments (what an
intermediary routes on must be what the upstream executes), and the upstream
session mirrors arguments into the headers it sends.

Rules (the spec's): an ``x-mcp-header`` counts only on a property reachable
through ``properties`` chains from the root, naming an RFC 9110 token, on a
``string``, ``integer`` or ``boolean`` property, case-insensitively unique. A
schema with any malformed annotation is malformed as a whole (clients drop such
tools), so it maps nothing. Values that are not printable ASCII without edge
whitespace travel as ``=?base64?...?=``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ParamMap",
    "decode_header_value",
    "encode_header_value",
    "param_header_map",
    "param_header_mismatch",
    "param_headers",
]

ParamMap = tuple[tuple[tuple[str, ...], str, str], ...]
"""``(property path, header token, JSON type)`` per mirrored argument, sorted by path."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRIMITIVE = ("string", "integer", "boolean")
_SAFE = re.compile(r"[\x20-\x7E]*")
_SENTINEL = re.compile(r"=\?base64\?(.*)\?=")


def encode_header_value(value: str) -> str:
    if _SAFE.fullmatch(value) and value == value.strip() and not _SENTINEL.fullmatch(value):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode('ascii')}?="


def decode_header_value(value: str | None) -> str | None:
    """Undo the Base64 sentinel; ``None`` for a malformed one, so it never matches anything."""
    if value is None:
        return None
    match = _SENTINEL.fullmatch(value)
    if match is None:
        return value
    try:
        raw = base64.b64decode(match.group(1), validate=True)
        if base64.b64encode(raw).decode("ascii") != match.group(1):
            return None
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def param_header_map(input_schema: Any) -> ParamMap:
    """The arguments a tool mirrors into ``Mcp-Param-*`` headers; empty for a malformed schema."""
    found: list[tuple[tuple[str, ...], str, str]] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), input_schema)]
    while stack:
        path, node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        if path and "x-mcp-header" in node:
            token, kind = node["x-mcp-header"], node.get("type")
            if not isinstance(token, str) or not _TOKEN.fullmatch(token) or kind not in _PRIMITIVE:
                return ()
            found.append((path, token, kind))
        props = node.get("properties")
        if isinstance(props, Mapping):
            stack.extend(((*path, str(k)), v) for k, v in props.items())
    tokens = [token.lower() for _, token, _ in found]
    if len(set(tokens)) != len(tokens):
        return ()
    return tuple(sorted(found))


def _argument(arguments: Any, path: tuple[str, ...]) -> Any:
    node = arguments
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _render(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def param_headers(mapping: ParamMap, arguments: Any) -> dict[str, str]:
    """The ``Mcp-Param-*`` headers a ``tools/call`` with ``arguments`` carries."""
    out: dict[str, str] = {}
    for path, token, _ in mapping:
        rendered = _render(_argument(arguments, path))
        if rendered is not None:
            out[f"Mcp-Param-{token}"] = encode_header_value(rendered)
    return out


def param_header_mismatch(mapping: ParamMap, arguments: Any, headers: Mapping[str, str]) -> str | None:
    """Why the client's ``Mcp-Param-*`` headers (lower-cased names) disagree with ``arguments``;
    ``None`` when they agree."""
    for path, token, kind in mapping:
        raw = headers.get(f"mcp-param-{token.lower()}")
        value = _argument(arguments, path)
        rendered = _render(value) if value is not None else None
        name, where = f"Mcp-Param-{token}", ".".join(path)
        if rendered is None:
            if raw is not None:
                return f"{name} header is present but the argument {where!r} is absent"
            continue
        if raw is None:
            return f"{name} header is missing but the argument {where!r} is present"
        decoded = decode_header_value(raw)
        if decoded is None:
            return f"{name} header carries a malformed Base64 value"
        if decoded != rendered and not _same_integer(kind, value, decoded):
            return f"{name} header does not match the argument {where!r}"
    return None


def _same_integer(kind: str, value: Any, decoded: str) -> bool:
    if kind != "integer" or isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return re.fullmatch(r"-?\d+(\.0+)?", decoded) is not None and float(decoded) == float(value)
