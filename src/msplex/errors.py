"""The one place where failures become wire errors, for both protocol eras.

RpcError                 a JSON-RPC error: a ``Code`` (what went wrong) and a message
 ├── Relayed             an upstream's own JSON-RPC error, passed on with its code
 └── Denied              a chain stage refused: names the ``Stage`` and the reason
Held                     a chain stage stopped the call and answers it with a result, not an error

Every ``Code`` fixes the JSON-RPC error code and the HTTP status it gets in each
era, so no raise site chooses a number: the 2026-07-28 revision maps some codes
to 4xx statuses, the session era answers errors inside a session with 200 and
only transport-level and identity failures with 4xx. A message is written for
the caller and is built from identifiers the caller already holds, never from
a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Literal

from msplex import protocol
from msplex.protocol.jsonrpc import JSON, error_response

__all__ = ["Code", "Denied", "Era", "Held", "Relayed", "RpcError", "Stage", "http_status", "response"]

Era = Literal["legacy", "modern"]


@dataclass(frozen=True, slots=True)
class _Wire:
    rpc: int
    modern: int
    legacy: int


class Code(Enum):
    """What went wrong: the JSON-RPC code, and the HTTP status in the 2026-07-28 and session eras."""

    PARSE_ERROR = _Wire(protocol.PARSE_ERROR, 400, 400)
    MALFORMED = _Wire(protocol.INVALID_REQUEST, 400, 400)
    """Not one JSON-RPC request or notification object."""
    INVALID_REQUEST = _Wire(protocol.INVALID_REQUEST, 400, 200)
    """A well-formed request that cannot be served as asked."""
    SESSION_REQUIRED = _Wire(protocol.INVALID_REQUEST, 400, 400)
    SESSION_NOT_FOUND = _Wire(protocol.INVALID_REQUEST, 404, 404)
    VERSION_HEADER = _Wire(protocol.INVALID_REQUEST, 400, 400)
    """A session-era request naming a protocol version this gateway does not speak."""
    UNSUPPORTED_PROTOCOL_VERSION = _Wire(protocol.UNSUPPORTED_PROTOCOL_VERSION, 400, 400)
    HEADER_MISMATCH = _Wire(protocol.HEADER_MISMATCH, 400, 400)
    METHOD_NOT_FOUND = _Wire(protocol.METHOD_NOT_FOUND, 404, 200)
    INVALID_PARAMS = _Wire(protocol.INVALID_PARAMS, 400, 200)
    NOT_FOUND = _Wire(protocol.INVALID_PARAMS, 400, 200)
    """An item (tool, prompt, resource) this caller cannot reach: absent and forbidden look alike."""
    TIMEOUT = _Wire(protocol.REQUEST_TIMEOUT, 200, 200)
    UPSTREAM_FAILED = _Wire(protocol.INTERNAL_ERROR, 200, 200)
    INTERNAL = _Wire(protocol.INTERNAL_ERROR, 200, 200)
    UNAUTHENTICATED = _Wire(protocol.UNAUTHENTICATED, 401, 401)
    FORBIDDEN = _Wire(protocol.FORBIDDEN, 403, 403)
    BUSY = _Wire(protocol.BUSY, 200, 200)
    """The connector instance's bulkhead is full (every worker busy, the queue at its limit)."""
    APPROVAL = _Wire(protocol.APPROVAL, 200, 200)
    """An approval the call needs is pending, was denied, has expired or was already used."""
    NOT_ENTITLED = _Wire(protocol.NOT_ENTITLED, 200, 200)
    """The tenant's subscription does not cover the call: its status, or its plan's connectors."""
    NOT_READY = _Wire(protocol.NOT_READY, 200, 200)
    """The call's connector instance is not ready: not configured, credentials invalid, or unhealthy."""
    POLICY = _Wire(protocol.FORBIDDEN, 200, 200)
    """A tool-policy rule refused this one call (the caller's identity and tenant are fine: no 403)."""
    QUOTA = _Wire(protocol.QUOTA, 200, 200)
    """A hard quota is used up for its window."""


_MODERN_STATUS_OF_RPC = {
    protocol.PARSE_ERROR: 400,
    protocol.INVALID_REQUEST: 400,
    protocol.INVALID_PARAMS: 400,
    protocol.METHOD_NOT_FOUND: 404,
    protocol.HEADER_MISMATCH: 400,
    protocol.MISSING_REQUIRED_CLIENT_CAPABILITY: 400,
    protocol.UNSUPPORTED_PROTOCOL_VERSION: 400,
}
"""How the 2026-07-28 revision maps an upstream's relayed error code to an HTTP status."""


class Stage(StrEnum):
    """The enforcement chain's stages, by the names denials carry."""

    AUTHENTICATE = "authenticate"
    RESOLVE_TENANT = "resolve_tenant"
    RESOLVE_CUSTOMER = "resolve_customer"
    LOAD_ENTITLEMENTS = "load_entitlements"
    VERIFY_SUBSCRIPTION = "verify_subscription"
    RESOLVE_TARGET = "resolve_target"
    VERIFY_ENTITLEMENT = "verify_entitlement"
    VERIFY_READINESS = "verify_readiness"
    EVALUATE_POLICY = "evaluate_policy"
    CHECK_QUOTA = "check_quota"
    CHECK_APPROVAL = "check_approval"
    DISPATCH = "dispatch"


class RpcError(Exception):
    def __init__(self, code: Code, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    @property
    def rpc_code(self) -> int:
        return self.code.value.rpc

    def to_wire(self) -> JSON:
        err: JSON = {"code": self.rpc_code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


class Relayed(RpcError):
    """An upstream's JSON-RPC error, relayed with its own code so the client sees what it said."""

    def __init__(self, rpc_code: int, message: str, data: Any = None) -> None:
        super().__init__(Code.UPSTREAM_FAILED, message, data)
        self._rpc = rpc_code

    @property
    def rpc_code(self) -> int:
        return self._rpc


class Denied(RpcError):
    """Raised by a chain stage: the call goes no further, and the caller learns which stage and why.

    ``challenge`` is the ``WWW-Authenticate`` error (``invalid_token``, ``insufficient_scope``) the
    edge adds to a 401 or 403, with the reason as its description."""

    def __init__(self, stage: Stage, code: Code, reason: str, *, challenge: str | None = None) -> None:
        super().__init__(code, f"{stage}: {reason}", {"stage": stage.value, "reason": reason})
        self.stage = stage
        self.reason = reason
        self.challenge = challenge


class Held(Exception):
    """Raised by a chain stage that stops the call and answers it with a result rather than an error: an
    approval is pending, so the client gets an ``InputRequiredResult`` or a tool result saying how to retry.
    The chain returns ``result`` as the call's result; its observers see the call stopped at ``stage``."""

    def __init__(self, stage: Stage, result: JSON, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.result = result
        self.reason = reason


def http_status(exc: RpcError, era: Era) -> int:
    if isinstance(exc, Relayed):
        return _MODERN_STATUS_OF_RPC.get(exc.rpc_code, 200) if era == "modern" else 200
    return exc.code.value.modern if era == "modern" else exc.code.value.legacy


def response(request_id: Any, exc: RpcError) -> JSON:
    """The JSON-RPC error response for ``exc``."""
    return error_response(request_id, exc.rpc_code, exc.message, exc.data)
