"""JSON-RPC 2.0 envelopes, built in one place for both eras and both directions."""

from __future__ import annotations

from typing import Any

__all__ = ["JSON", "error", "error_response", "result_response", "valid_id"]

JSON = dict[str, Any]


def valid_id(value: Any) -> bool:
    """A request id this gateway accepts and echoes unchanged: a string or an integer.

    ``null``, fractions, booleans and structures are refused (-32600) in both eras; so is an
    integer beyond 64 bits, which the JSON parser can only hand over as a float: echoing it
    would rewrite the client's id.
    """
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def error(code: int, message: str, data: Any = None) -> JSON:
    err: JSON = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return err


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> JSON:
    return {"jsonrpc": "2.0", "id": request_id, "error": error(code, message, data)}


def result_response(request_id: Any, result: Any) -> JSON:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}
