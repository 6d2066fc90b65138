"""The public naming scheme of federated items. Stable by construction.

A public name depends only on the upstream's own name, its ``prefix`` flag
and the item's upstream name, never on which other upstreams exist, so adding
or removing an upstream never renames anything.

* Tools and prompts of a prefixed upstream: ``{upstream}__{name}``
  (``__`` because clients restrict tool names to ``[A-Za-z0-9_-]``).
* Resources and resource templates of a prefixed upstream: the upstream name
  joined to the URI scheme with ``+`` (``test://x`` -> ``files+test://x``),
  which stays a valid URI and is reversible.
* Items of an unprefixed (``--no-prefix``) upstream keep their names; the
  operator is refused a collision when adding it, and at run time the
  earlier-registered upstream keeps a contested name.

Upstream names are ``[a-z][a-z0-9-]{0,62}`` (no ``_`` and no ``+``), so the
split below is unambiguous.
"""

from __future__ import annotations

import re

__all__ = [
    "SEPARATOR",
    "UPSTREAM_NAME",
    "public_name",
    "public_uri",
    "split_name",
    "split_uri",
    "valid_upstream_name",
]

SEPARATOR = "__"
UPSTREAM_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_URI_PREFIX = re.compile(r"^([a-z][a-z0-9-]{0,62})\+([A-Za-z][A-Za-z0-9+.-]*:.*)$", re.DOTALL)


def valid_upstream_name(name: str) -> bool:
    return bool(UPSTREAM_NAME.match(name))


def public_name(upstream: str, name: str, *, prefixed: bool) -> str:
    return f"{upstream}{SEPARATOR}{name}" if prefixed else name


def split_name(public: str) -> tuple[str, str] | None:
    """``(upstream, name)`` for a prefixed public name, else ``None``."""
    upstream, sep, name = public.partition(SEPARATOR)
    if not sep or not name or not UPSTREAM_NAME.match(upstream):
        return None
    return upstream, name


def public_uri(upstream: str, uri: str, *, prefixed: bool) -> str:
    return f"{upstream}+{uri}" if prefixed else uri


def split_uri(public: str) -> tuple[str, str] | None:
    """``(upstream, uri)`` for a prefixed public URI, else ``None``."""
    match = _URI_PREFIX.match(public)
    return (match.group(1), match.group(2)) if match else None
