"""Reading one vendor record by id, the same way in every connector: a 404 is the model's "not found" (exactly
what a foreign record gets, so ids cannot be probed), and an answer that is not a record is the vendor's
fault, not the model's. Ownership is then the caller's ``ctx.scope.check``."""

from __future__ import annotations

from msplex.connectors.framework.context import ToolContext
from msplex.connectors.framework.errors import ToolError, VendorError
from msplex.connectors.framework.spec import JSON

__all__ = ["get_record"]


async def get_record(ctx: ToolContext, path: str, what: str) -> JSON:
    try:
        record = await ctx.http.get(path)
    except VendorError as exc:
        if exc.kind == "not_found":
            raise ToolError(f"{what} not found") from None
        raise
    if not isinstance(record, dict):
        raise VendorError("vendor", f"{ctx.http.vendor} answered {what} with something that is not a record")
    return record
