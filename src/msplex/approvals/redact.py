"""The view of a call's arguments that an approver (and a log) may see: secrets replaced, sizes bounded.

A value is a secret when its key names one (password, token, api key, secret,
credential, ...) or when the item's input schema marks the property as one
(``format: password`` or ``writeOnly: true``), at any depth. Long strings are
cut and deep or wide structures summarised, so a request row stays small. The
real arguments are kept sealed elsewhere (``msplex.store.approvals``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "redact_arguments"]

REDACTED = "«redacted»"
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_]?key|apikey|private[-_]?key|credential|authori[sz]ation|^auth$"
    r"|bearer|cookie|session"
    r"|^pin$|otp|mfa|totp|client[-_]?secret|signature|^key$",
    re.IGNORECASE,
)
_MAX_STRING = 500
_MAX_ITEMS = 50
_MAX_DEPTH = 8


def redact_arguments(arguments: Mapping[str, Any], schema: Any = None) -> dict[str, Any]:
    """``arguments`` with every secret replaced by ``REDACTED``; ``schema`` is the item's input schema."""
    return _mapping(arguments, schema, 1)


def _property(schema: Any, key: Any) -> Any:
    if not isinstance(schema, Mapping):
        return None
    properties = schema.get("properties")
    return properties.get(key) if isinstance(properties, Mapping) else None


def _secret(key: Any, schema: Any) -> bool:
    if isinstance(key, str) and _SECRET_KEY.search(key):
        return True
    return isinstance(schema, Mapping) and (schema.get("format") == "password" or schema.get("writeOnly") is True)


def _value(key: Any, value: Any, schema: Any, depth: int) -> Any:
    if _secret(key, schema):
        return REDACTED
    if isinstance(value, str):
        return value if len(value) <= _MAX_STRING else f"{value[:_MAX_STRING]}… ({len(value)} characters)"
    if isinstance(value, Mapping):
        if depth >= _MAX_DEPTH:
            return f"{{… {len(value)} keys}}"
        return _mapping(value, schema, depth + 1)
    if isinstance(value, list):
        if depth >= _MAX_DEPTH:
            return f"[… {len(value)} items]"
        items = schema.get("items") if isinstance(schema, Mapping) else None
        shown = [_value(None, v, items, depth + 1) for v in value[:_MAX_ITEMS]]
        return shown + ([f"… {len(value) - _MAX_ITEMS} more"] if len(value) > _MAX_ITEMS else [])
    return value


def _mapping(value: Mapping[str, Any], schema: Any, depth: int) -> dict[str, Any]:
    shown = {str(k): _value(k, v, _property(schema, k), depth) for k, v in list(value.items())[:_MAX_ITEMS]}
    if len(value) > _MAX_ITEMS:
        shown["…"] = f"{len(value) - _MAX_ITEMS} more"
    return shown
