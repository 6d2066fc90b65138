"""Read everything an upstream lists: the one listing routine, for the provider and the CLI."""

from __future__ import annotations

from msplex import protocol
from msplex.catalogue.listing import JSON, Listing
from msplex.upstream import ListError, UpstreamSession, list_all

__all__ = ["read_listing"]


async def read_listing(session: UpstreamSession) -> Listing:
    """Every kind the upstream's capabilities offer; a kind it does not implement is empty, not a failure."""
    facts = session.facts or await session.start()
    caps = facts.capabilities or {}
    lists: dict[str, tuple[JSON, ...]] = {}
    for method, key in protocol.LIST_METHODS.items():
        family = "resources" if key == "resourceTemplates" else key
        lists[key] = await _list_kind(session, method, key) if family in caps else ()
    return Listing(**lists)


async def _list_kind(session: UpstreamSession, method: str, key: str) -> tuple[JSON, ...]:
    try:
        return tuple(await list_all(session, method, key))
    except ListError as exc:
        if exc.error.get("code") == protocol.METHOD_NOT_FOUND:
            return ()
        raise
