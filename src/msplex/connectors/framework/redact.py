"""Vendor secrets in results: redacted structurally, then scrubbed by value from every string.

A secret field keeps its key with the value ``null`` and gains a sibling ``<field>_redacted: true``,
so nothing that could pass for a password (a placeholder string) ever stands in its place. A
field is secret when the vendor names it (``Vendor.secret_fields``) or its key contains
``password`` or ``secret``. Every value removed that way, and every credential the connector sent,
is then replaced by ``[redacted]`` wherever it appears inside other strings (notes, rendered text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["MASK", "is_secret_key", "redact", "scrub_text"]

MASK = "[redacted]"
_SECRET_KEY = re.compile(r"password|secret|passwd|otp_?seed", re.IGNORECASE)
_MIN_SCRUB = 4
"""Shorter values are not scrubbed from text: replacing every "1" would destroy the result, not protect it."""


def is_secret_key(key: str, fields: frozenset[str] = frozenset()) -> bool:
    if key.endswith("_redacted"):
        return False
    return key in fields or bool(_SECRET_KEY.search(key))


def redact(value: Any, fields: frozenset[str] = frozenset(), also: Sequence[str] = ()) -> Any:
    """``value`` with secret fields nulled (and flagged) and every secret value scrubbed from strings."""
    found: list[str] = []
    structured = _null_secrets(value, fields, found)
    values = sorted({v for v in (*found, *also) if len(v) >= _MIN_SCRUB}, key=len, reverse=True)
    return _scrub(structured, values) if values else structured


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SCRUB}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _null_secrets(value: Any, fields: frozenset[str], found: list[str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and is_secret_key(key, fields) and not isinstance(item, (dict, list)):
                if item not in (None, ""):
                    found.append(str(item))
                    out[key] = None
                    out[f"{key}_redacted"] = True
                else:
                    out[key] = item
            else:
                out[key] = _null_secrets(item, fields, found)
        return out
    if isinstance(value, list):
        return [_null_secrets(item, fields, found) for item in value]
    return value


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value
