"""Failures a vendor tool reports to the model, translated at the connector's boundary.

ToolError                 a tool-level failure: the call's result is ``isError: true`` with this message
 └── VendorError          the vendor answered badly or not at all (``kind`` says how)
      └── NotReady        the instance cannot work until an operator acts (credentials rejected,
                          refresh failed): the provider reports it not ready, with ``fix``

Messages are written for a model and an operator and built from what they already know (the
vendor, the host, the vendor's own error text scrubbed of every credential value); no vendor
exception, response object or credential travels inside them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["NotReady", "ToolError", "VendorError", "VendorErrorKind"]

VendorErrorKind = Literal[
    "auth",  # credentials rejected (after one refresh)
    "forbidden",  # authenticated, but the credential lacks a scope or permission
    "not_found",  # the record does not exist, or belongs to another customer (indistinguishable)
    "invalid",  # the vendor refused the arguments (400, 409, 422)
    "rate_limited",  # still 429 after the bounded backoff
    "unreachable",  # DNS, connect, TLS or timeout
    "vendor",  # 5xx, or an answer that is not what the vendor's contract says
]


class ToolError(Exception):
    """A failure the model should read and may act on: becomes an ``isError`` tool result."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class VendorError(ToolError):
    def __init__(
        self, kind: VendorErrorKind, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.kind: VendorErrorKind = kind
        self.status = status


class NotReady(VendorError):
    """The instance is unusable until an operator acts; ``fix`` says what to run."""

    def __init__(self, message: str, *, fix: str | None = None, status: int | None = None) -> None:
        super().__init__("auth", message, status=status)
        self.fix = fix
