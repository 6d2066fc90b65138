"""Wire vocabulary shared by both eras: versions, error codes, header names, framing.

Kept free of pydantic and of the MCP SDK on purpose: this is the hot path, and
messages stay plain dicts so that fields this gateway does not know pass
through untouched.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

import orjson

__all__ = [
    "CACHEABLE_METHODS",
    "CLIENT_CAPABILITIES_META",
    "CLIENT_INFO_META",
    "ERROR_HTTP_STATUS",
    "HEADER_MISMATCH",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "LEGACY_VERSIONS",
    "LOG_LEVEL_META",
    "MESSAGE_EXCHANGE_ONLY",
    "METHOD_NOT_FOUND",
    "MISSING_REQUIRED_CLIENT_CAPABILITY",
    "MODERN_VERSION",
    "MODERN_VERSIONS",
    "NAME_BEARING",
    "PARSE_ERROR",
    "PROTOCOL_VERSION_META",
    "SERVER_INFO_META",
    "SUBSCRIPTION_ID_META",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "decode_header_value",
    "dumps",
    "error",
    "error_response",
    "loads",
    "result_response",
    "sse_event",
]

MODERN_VERSION: Final = "2026-07-28"
MODERN_VERSIONS: Final = (MODERN_VERSION,)
LEGACY_VERSIONS: Final = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
"""Newest first: ``initialize`` answers with the client's version if listed, else the first."""

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
HEADER_MISMATCH: Final = -32020
MISSING_REQUIRED_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022

ERROR_HTTP_STATUS: Final[dict[int, int]] = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}
"""2026-07-28 maps these codes to HTTP statuses; the legacy era answers 200."""

NAME_BEARING: Final[dict[str, str]] = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
"""Methods whose name/URI is mirrored in the ``Mcp-Name`` header (2026-07-28)."""

CACHEABLE_METHODS: Final = frozenset(
    {"tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"}
)

MESSAGE_EXCHANGE_ONLY: Final = frozenset({"initialize", "ping", "logging/setLevel"})
"""Legacy-only methods that a 2026-07-28 request must get 404 for."""

dumps = orjson.dumps
loads = orjson.loads


def error(code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return err


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error(code, message, data)}


def result_response(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def sse_event(message: dict[str, Any], event_id: str | None = None) -> bytes:
    head = b"id: " + event_id.encode() + b"\n" if event_id else b""
    return head + b"event: message\ndata: " + orjson.dumps(message) + b"\n\n"


_B64_SENTINEL = re.compile(r"^=\?base64\?(.*)\?=$")


def decode_header_value(value: str | None) -> str | None:
    """Undo the ``=?base64?...?=`` sentinel; ``None`` for a malformed one, so it never matches."""
    if value is None:
        return None
    match = _B64_SENTINEL.match(value)
    if match is None:
        return value
    try:
        raw = base64.b64decode(match.group(1), validate=True)
        if base64.b64encode(raw).decode("ascii") != match.group(1):
            return None
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
