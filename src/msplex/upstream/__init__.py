"""Upstream MCP servers: sessions over Streamable HTTP (both eras) and stdio, and their pool.

``open_session(spec, headers)`` builds an unstarted session of the right
transport; ``list_all`` reads a whole paginated list; ``UpstreamPool`` keeps
one session per registered upstream. The contract is in ``base``.
"""

from __future__ import annotations

from msplex.upstream._process import default_user as default_stdio_user
from msplex.upstream.base import (
    HeaderSource,
    ServerFacts,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamSession,
    UpstreamSpec,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from msplex.upstream.http import HttpSession
from msplex.upstream.lists import ListError, list_all
from msplex.upstream.pool import UpstreamPool
from msplex.upstream.stdio import StdioSession

__all__ = [
    "HttpSession",
    "ListError",
    "ServerFacts",
    "StdioSession",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamProtocolError",
    "UpstreamSession",
    "UpstreamSpec",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "default_stdio_user",
    "list_all",
    "open_session",
]


def open_session(
    spec: UpstreamSpec, headers: HeaderSource | None = None, *, stdio_user: str | None = None
) -> UpstreamSession:
    """A new, unstarted session for ``spec`` (``start`` or the first ``request`` connects); a stdio child
    runs as ``stdio_user`` (``None``: the gateway's own user)."""
    if spec.transport == "http":
        return HttpSession(spec, headers=headers)
    if spec.transport == "stdio":
        return StdioSession(spec, user=stdio_user)
    raise ValueError(f"unknown upstream transport {spec.transport!r}")
