"""MCP vocabulary shared by every layer: versions, JSON-RPC codes, ``_meta`` keys, method sets.

Below ``mcp/`` (the client-facing edge), ``upstream/`` (sessions toward
upstream servers), ``catalogue/`` and ``connectors/``; it imports nothing of
MSPlex, so no layer has to reach up to another for a constant. Messages stay
plain dicts everywhere: fields this gateway does not know pass through.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "APPROVAL",
    "BUSY",
    "CACHEABLE_METHODS",
    "CLIENT_CAPABILITIES_META",
    "CLIENT_INFO_META",
    "FORBIDDEN",
    "HANDSHAKE_ONLY_METHODS",
    "HEADER_MISMATCH",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LEGACY_VERSION",
    "LEGACY_VERSIONS",
    "LIST_CHANGED",
    "LIST_METHODS",
    "LOG_LEVELS",
    "LOG_LEVEL_META",
    "METHOD_NOT_FOUND",
    "MISSING_REQUIRED_CLIENT_CAPABILITY",
    "MODERN_VERSION",
    "MODERN_VERSIONS",
    "NAME_BEARING",
    "NOT_ENTITLED",
    "NOT_READY",
    "PARSE_ERROR",
    "PROTOCOL_VERSION_META",
    "QUOTA",
    "REQUEST_TIMEOUT",
    "SERVER_INFO_META",
    "SUBSCRIPTION_ID_META",
    "UNAUTHENTICATED",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "log_admits",
]

MODERN_VERSION: Final = "2026-07-28"
MODERN_VERSIONS: Final = (MODERN_VERSION,)
LEGACY_VERSIONS: Final = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
"""Newest first: ``initialize`` answers with the client's version if listed, else the first."""
LEGACY_VERSION: Final = LEGACY_VERSIONS[0]
"""What the gateway asks for when it opens a handshake-era session upstream."""

PROTOCOL_VERSION_META: Final = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META: Final = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META: Final = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_META: Final = "io.modelcontextprotocol/serverInfo"
LOG_LEVEL_META: Final = "io.modelcontextprotocol/logLevel"
SUBSCRIPTION_ID_META: Final = "io.modelcontextprotocol/subscriptionId"

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
REQUEST_TIMEOUT: Final = -32001
HEADER_MISMATCH: Final = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022
UNAUTHENTICATED: Final = -32010
"""Implementation-defined (-32001 is MCP's request timeout); HTTP says 401 as well."""
FORBIDDEN: Final = -32003
BUSY: Final = -32005
"""Implementation-defined: the connector instance's worker pool and queue are full; retry shortly."""
APPROVAL: Final = -32006
"""Implementation-defined: the call needs a person's approval that is pending, was denied, expired or was used."""
NOT_ENTITLED: Final = -32030
"""Implementation-defined: the tenant's subscription does not cover the call (its status, or its plan's connectors)."""
NOT_READY: Final = -32031
"""Implementation-defined: the call's connector instance is not ready (unconfigured, bad credentials, unhealthy)."""
QUOTA: Final = -32007
"""Implementation-defined: a hard quota of the tenant, customer, caller or tool is used up for its window."""

LIST_METHODS: Final[dict[str, str]] = {
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
"""List method -> the result key holding its items."""

LIST_CHANGED: Final[dict[str, str]] = {
    "tools": "notifications/tools/list_changed",
    "prompts": "notifications/prompts/list_changed",
    "resources": "notifications/resources/list_changed",
}

NAME_BEARING: Final[dict[str, str]] = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
"""Methods whose name/URI is mirrored in the ``Mcp-Name`` header (2026-07-28)."""

CACHEABLE_METHODS: Final = frozenset({*LIST_METHODS, "resources/read"})

HANDSHAKE_ONLY_METHODS: Final = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
"""Legacy-era methods a 2026-07-28 request gets 404/-32601 for."""

LOG_LEVELS: Final[dict[str, int]] = {
    name: rank
    for rank, name in enumerate(("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"))
}


def log_admits(threshold: str | None, level: Any) -> bool:
    """Whether a log notification at ``level`` passes a client's ``threshold`` (``None``: no logs)."""
    if threshold is None:
        return False
    return LOG_LEVELS.get(level if isinstance(level, str) else "", 0) >= LOG_LEVELS.get(threshold, 0)
