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
    "check_audiences",
    "check_command",
    "check_display_name",
    "check_env",
    "check_headers",
    "check_patterns",
    "check_role_map",
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


def check_slug(slug: str, field: str = "tenant slug") -> str:
    if not SLUG.match(slug):
        raise InvalidInput(field, f"'{slug}' must be 2-63 characters of a-z, 0-9 and '-', starting with a letter")
    return slug


def check_display_name(name: str, field: str) -> str:
    display = name.strip()
    if not display or len(display) > 200 or any(c in display for c in "\r\n\x00"):
        raise InvalidInput(field, "must be 1-200 characters on one line")
    return display


_PATTERN = re.compile(r"^[\x21-\x7e]{1,300}$")


def check_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    """Glob patterns on public item names (``*``, ``?``, ``[...]``): printable, no spaces, at most 300 characters."""
    if isinstance(patterns, str):
        raise InvalidInput("pattern", "give a list of patterns")
    for pattern in patterns:
        if not isinstance(pattern, str) or not _PATTERN.match(pattern):
            raise InvalidInput("pattern", f"{pattern!r} must be 1-300 printable characters without spaces")
    return tuple(patterns)


def check_audiences(audiences: Sequence[str]) -> tuple[str, ...]:
    from msplex.store.records import AUDIENCES

    chosen = tuple(a for a in AUDIENCES if a in audiences)
    unknown = [a for a in audiences if a not in AUDIENCES]
    if unknown or not chosen:
        raise InvalidInput("audience", f"choose from {', '.join(AUDIENCES)} (got {', '.join(audiences) or 'none'})")
    return chosen


def check_role_map(role_map: Mapping[str, str]) -> dict[str, str]:
    from msplex.store.records import ROLES

    for group, role in role_map.items():
        if not group or role not in ROLES:
            raise InvalidInput(
                "role map", f"'{group}={role}' must map a provider role or group to one of {', '.join(ROLES)}"
            )
    return dict(role_map)


def check_upstream_name(name: str) -> str:
    if not valid_upstream_name(name):
        raise InvalidInput(
            "upstream name", f"'{name}' must be 1-63 characters of a-z, 0-9 and '-', starting with a letter"
        )
    return name


def check_url(url: str, field: str = "url", *, https_only: bool = False) -> str:
    parts = urlsplit(url)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput(field, f"must be an absolute {' or '.join(s + '://' for s in schemes)} URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(field, "must not embed credentials; pass them with --header instead")
    return url


def check_command(command: Sequence[str]) -> list[str]:
    if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
        raise InvalidInput("command", "must be a non-empty list of arguments")
    if not command[0].strip():
        raise InvalidInput("command", "the program name is empty")
    if any("\x00" in arg for arg in command):
        raise InvalidInput("command", "arguments must not contain NUL bytes")
    return list(command)


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ENV_RESERVED = frozenset({"PATH", "HOME", "TMPDIR", "LANG", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH"})


def check_env(env: Mapping[str, str]) -> dict[str, str]:
    """A stdio child's extra environment: portable names, none the gateway sets or that load code."""
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise InvalidInput("env", f"'{name}' is not a valid environment variable name")
        if name in _ENV_RESERVED or name.startswith("MSPLEX_"):
            raise InvalidInput("env", f"'{name}' is set by the gateway or changes what code the child loads")
        if not isinstance(value, str) or "\x00" in value:
            raise InvalidInput("env", f"the value of '{name}' must be text without NUL bytes")
    return dict(env)


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
