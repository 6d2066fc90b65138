"""A tenant's catalogue as the CLI sees it: listed from its upstreams now (and its vendor connectors' declared
tools), merged as the gateway merges.

The CLI runs beside (or without) a gateway, so it reads every enabled upstream's
listing itself, with the provider's own routine, and merges them with
``Catalogue.build``: the public names it prints are the gateway's. An upstream
that cannot be listed is reported, not fatal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from msplex.call import Call
from msplex.catalogue.listing import JSON, Listing, Source
from msplex.catalogue.merged import Catalogue
from msplex.connectors.framework import registry
from msplex.connectors.upstream.listing import read_listing
from msplex.store import Store, UpstreamEntry
from msplex.upstream import UpstreamError, UpstreamSpec, open_session

__all__ = ["Listed", "ListedOnly", "list_catalogue", "listing_of"]


class ListedOnly:
    """The sources here are only merged, never called."""

    async def execute(self, call: Call) -> JSON:
        raise RuntimeError("the CLI never dispatches")


@dataclass(frozen=True, slots=True)
class Listed:
    catalogue: Catalogue
    failures: dict[str, str]
    """Upstream name -> why it could not be listed."""


async def listing_of(spec: UpstreamSpec, headers: Mapping[str, str], seconds: float) -> Listing:
    """Everything ``spec`` lists; ``TimeoutError``, ``UpstreamError`` or ``OSError``/``ValueError`` if it cannot."""

    async def header_source() -> Mapping[str, str]:
        return headers

    session = open_session(spec, header_source)
    try:
        async with asyncio.timeout(seconds):
            return await read_listing(session)
    finally:
        await session.close()


async def _listing_or_reason(entry: UpstreamEntry, seconds: float) -> Listing | str:
    try:
        return await listing_of(entry.spec, dict(entry.headers), seconds)
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except (UpstreamError, OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__


async def list_catalogue(store: Store, tenant: str, *, seconds: float = 15.0) -> Listed:
    entries = await store.tenant(tenant).upstream_entries()
    results = await asyncio.gather(*(_listing_or_reason(e, seconds) for e in entries))
    connector = ListedOnly()
    sources = []
    failures: dict[str, str] = {}
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, str):
            failures[entry.spec.name] = result
            result = Listing()
        sources.append(Source("upstream", entry.spec.name, entry.prefix, result, connector))
    for record in await store.tenant(tenant).connectors.list():
        try:
            vendor = registry.vendor(record.kind)
        except registry.UnknownVendor:
            failures[record.name] = f"this installation has no {record.kind} connector module"
            continue
        tools = tuple(t.definition(vendor.kind) for t in vendor.tools)
        sources.append(Source("vendor", record.name, True, Listing(tools=tools), connector, vendor.kind))
    return Listed(Catalogue.build(1, sources), failures)
