"""The verdict of the per-vendor security matrices on one probe's answer (their gateway is
``support.mcp_tools.vendor_gateway``: calls held for approval are approved, so a probe reaches the
connector's own scoping rather than stopping at the approval stage)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

__all__ = ["verdict"]


def verdict(
    tool: str,
    result: dict[str, Any],
    *,
    lookups: Collection[str],
    own_only: Collection[str],
    owns: Callable[[Any], bool],
) -> None:
    """A lookup answers; an own-only list answers with the caller's records only; anything else is refused."""
    if tool in lookups:
        assert result["isError"] is False, result
    elif tool in own_only:
        assert result["isError"] is False, result
        assert all(owns(item) for item in result["structuredContent"]["items"])
    else:
        text = str(result)
        assert result["isError"] is True, result
        assert "not found" in text or "unavailable to a call bound to a customer" in text, text
