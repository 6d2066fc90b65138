"""Upstream MCP servers: sessions over Streamable HTTP (both eras) and stdio, and their pool.

``open_session(spec, headers)`` builds an unstarted session of the right
transport; ``list_all`` reads a whole paginated list; ``UpstreamPool`` keeps
one session per registered upstream. The contract is in ``base``.
"""

from __future__ import annotations

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
    "list_all",
    "open_session",
]


def open_session(spec: UpstreamSpec, headers: HeaderSource | None = None) -> UpstreamSession:
    """A new, unstarted session for ``spec`` (``start`` or the first ``request`` connects)."""
    if spec.transport == "http":
        return HttpSession(spec, headers=headers)
    if spec.transport == "stdio":
        return StdioSession(spec)
    raise ValueError(f"unknown upstream transport {spec.transport!r}")
