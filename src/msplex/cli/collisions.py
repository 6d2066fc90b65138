"""The ``--no-prefix`` guard: refuse an unprefixed upstream whose names would collide.

An unprefixed upstream's items keep their own names, so before registering one
we connect to it and to the tenant's other enabled upstreams, read their
listings with the provider's own routine, and merge them exactly as the gateway
would (``Catalogue.build``, the new upstream last): whatever it would lose to an
earlier upstream is a collision. If any upstream cannot be listed, the check
cannot vouch for anything, so that is refused too.

The check is advisory against a race (two operators adding at once); the
gateway's run-time rule (the earlier-registered upstream keeps a contested
name) covers that case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from msplex.catalogue.listing import Listing, Source
from msplex.catalogue.merged import Catalogue
from msplex.cli._catalogue import ListedOnly, listing_of
from msplex.store.records import UpstreamEntry
from msplex.upstream import UpstreamError, UpstreamSpec

__all__ = ["Collision", "CollisionCheckFailed", "find_collisions"]

_KIND = {"tools": "tool", "prompts": "prompt", "resources": "resource", "resourceTemplates": "resource template"}


@dataclass(frozen=True, slots=True)
class Collision:
    kind: str
    public: str
    other_upstream: str


class CollisionCheckFailed(Exception):
    """An upstream could not be listed, so collisions cannot be ruled out."""

    def __init__(self, upstream: str, reason: str) -> None:
        super().__init__(f"cannot check '{upstream}' for name collisions: {reason}")
        self.upstream = upstream


async def _listing(spec: UpstreamSpec, headers: Mapping[str, str], seconds: float) -> Listing:
    try:
        return await listing_of(spec, headers, seconds)
    except TimeoutError:
        raise CollisionCheckFailed(spec.name, f"no answer within {seconds:g} s") from None
    except UpstreamError as exc:
        raise CollisionCheckFailed(spec.name, str(exc) or type(exc).__name__) from None
    except (OSError, ValueError) as exc:  # e.g. a stdio command that cannot be started
        raise CollisionCheckFailed(spec.name, f"{type(exc).__name__}: {exc}") from None


async def find_collisions(
    new: UpstreamSpec,
    headers: Mapping[str, str],
    others: Sequence[UpstreamEntry],
    *,
    seconds: float = 20.0,
) -> list[Collision]:
    """Names unprefixed ``new`` would lose to an upstream in ``others``, tools first.

    Each upstream gets ``seconds`` to connect and list everything.
    """
    others = [o for o in others if o.spec.name != new.name]
    results = await asyncio.gather(
        *(_listing(o.spec, dict(o.headers), seconds) for o in others),
        _listing(new, headers, seconds),
        return_exceptions=True,  # let every session close before reporting
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    listings = [r for r in results if isinstance(r, Listing)]
    connector = ListedOnly()
    sources = [
        Source("upstream", o.spec.name, o.prefix, lst, connector) for o, lst in zip(others, listings, strict=False)
    ]
    sources.append(Source("upstream", new.name, False, listings[-1], connector))
    merged = Catalogue.build(0, sources)
    order = list(_KIND)
    lost = sorted((c for c in merged.conflicts if c.instance == new.name), key=lambda c: (order.index(c.key), c.public))
    return [Collision(_KIND[c.key], c.public, c.holder) for c in lost]
