"""Input checks for store mutations; each failure is an ``InvalidInput`` naming the field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from msplex.catalogue.naming import valid_upstream_name
from msplex.store.errors import InvalidInput

__all__ = [
    "RESERVED_HEADERS",
    "SLUG",
    "check_command",
    "check_headers",
    "check_slug",
    "check_upstream_name",
    "check_url",
]

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "accept",
        "connection",
        "transfer-encoding",
        "mcp-session-id",
        "mcp-protocol-version",
        "last-event-id",
    }
)
"""Headers the gateway sets itself on upstream requests; an operator may not override them."""


def check_slug(slug: str) -> str:
    if not SLUG.match(slug):
        raise InvalidInput(
            "tenant slug", f"'{slug}' must be 2-63 characters of a-z, 0-9 and '-', starting with a letter"
        )
    return slug


def check_upstream_name(name: str) -> str:
    if not valid_upstream_name(name):
        raise InvalidInput(
            "upstream name", f"'{name}' must be 1-63 characters of a-z, 0-9 and '-', starting with a letter"
        )
    return name


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", "must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url", "must not embed credentials; pass them with --header instead")
    return url


def check_command(command: Sequence[str]) -> list[str]:
    if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
        raise InvalidInput("command", "must be a non-empty list of arguments")
    if not command[0].strip():
        raise InvalidInput("command", "the program name is empty")
    if any("\x00" in arg for arg in command):
        raise InvalidInput("command", "arguments must not contain NUL bytes")
    return list(command)


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are RFC 9110 tokens, unique case-insensitively; values are single-line."""
    seen: set[str] = set()
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise InvalidInput("header", f"'{name}' is not a valid header name")
        lower = name.lower()
        if lower in RESERVED_HEADERS:
            raise InvalidInput("header", f"'{name}' is set by the gateway and cannot be overridden")
        if lower in seen:
            raise InvalidInput("header", f"'{name}' is given twice")
        seen.add(lower)
        if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
            raise InvalidInput("header", f"the value of '{name}' must be a single line of text")
    return dict(headers)
