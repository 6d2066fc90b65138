"""Keep the credentials the gateway injects out of what it relays.

An upstream can echo a header it received (a debugging tool, an error message
quoting the request). Whatever the gateway relays to a client (results, errors,
notifications, server-to-client requests) passes through ``redact`` with the
upstream's secret values: each occurrence inside a string becomes
``[redacted]``. A cheap scan of the serialised message comes first, so a clean
message (nearly all of them) costs one ``orjson.dumps`` and a substring test per
secret.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson

__all__ = ["MIN_SECRET", "REDACTED", "redact", "redact_text"]

REDACTED = "[redacted]"
MIN_SECRET = 4
"""Shorter values are not treated as secrets: redacting ``"1"`` would mangle every result."""

T = TypeVar("T")


def redact_text(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if len(secret) >= MIN_SECRET and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(value: T, secrets: tuple[str, ...]) -> T:
    """``value`` with every secret replaced inside its strings (keys included); unchanged when clean."""
    if not secrets:
        return value
    try:
        raw = orjson.dumps(value)
    except TypeError:
        return _walk(value, secrets)  # type: ignore[no-any-return]
    if not any(len(s) >= MIN_SECRET and orjson.dumps(s)[1:-1] in raw for s in secrets):
        return value
    return _walk(value, secrets)  # type: ignore[no-any-return]


def _walk(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {redact_text(k, secrets) if isinstance(k, str) else k: _walk(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, secrets) for v in value]
    return value
