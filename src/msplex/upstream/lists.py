"""Whole-list reads that follow ``nextCursor`` pagination."""

from __future__ import annotations

from typing import Any

from msplex.upstream.base import UpstreamProtocolError, UpstreamSession

__all__ = ["MAX_PAGES", "ListError", "list_all"]

MAX_PAGES = 1000
"""A paginator that never ends (or cycles) is the upstream's fault, not a hang of ours."""


class ListError(UpstreamProtocolError):
    """The upstream answered a list page with a JSON-RPC error; ``error`` is that error object."""

    def __init__(self, upstream: str, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"upstream {upstream!r} failed {method} (code {error.get('code')})")
        self.error = error


async def list_all(session: UpstreamSession, method: str, key: str) -> list[dict[str, Any]]:
    """Every item of ``result[key]`` across all pages of ``method`` (e.g. ``tools/list``, ``"tools"``).

    Raises ``ListError`` for a JSON-RPC error and ``UpstreamProtocolError`` for
    malformed pages or cursor cycles; transport failures propagate as raised.
    """
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        reply = await session.request(method, {"cursor": cursor} if cursor is not None else None)
        if "error" in reply:
            raise ListError(session.name, method, reply["error"])
        result = reply["result"]
        page = result.get(key)
        if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
            raise UpstreamProtocolError(f"upstream {session.name!r} sent a malformed {method} page")
        items.extend(page)
        cursor = result.get("nextCursor")
        if cursor is None or cursor == "":
            return items
        if not isinstance(cursor, str) or cursor in seen:
            raise UpstreamProtocolError(f"upstream {session.name!r} sent an invalid or repeating cursor")
        seen.add(cursor)
    raise UpstreamProtocolError(f"upstream {session.name!r} paginated {method} past {MAX_PAGES} pages")
