"""The one place where failures become wire errors.

RpcError                 a JSON-RPC error, ready for the wire (both eras)
 └── Denied              the enforcement chain refused: names the stage and reason

A denial's message is written for the caller: it says which stage refused and
why, and never carries a credential (messages are built from identifiers the
caller already holds, never from secrets).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Denied", "RpcError"]


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_wire(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


class Denied(RpcError):
    """Raised by a chain stage; the call goes no further."""

    def __init__(self, stage: str, code: int, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(code, f"{stage}: {reason}", {"stage": stage, "reason": reason})
        self.stage = stage
        self.reason = reason
        self.http_status = http_status
