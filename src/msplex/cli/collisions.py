"""The ``--no-prefix`` guard: refuse an unprefixed upstream whose names would collide.

An unprefixed upstream's tools, prompts, resources and resource templates
keep their own names, so before registering one we connect to it and to the
tenant's other enabled upstreams, list what each advertises, and compare
public names (``msplex.catalogue.naming``). If any upstream cannot be
listed the check cannot vouch for anything, so that is refused too.

The check is advisory against a race (two operators adding at once); the
gateway's run-time rule (the earlier-registered upstream keeps a contested
name) covers that case.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from msplex.catalogue.naming import public_name, public_uri
from msplex.store.records import UpstreamEntry
from msplex.upstream.base import UpstreamError, UpstreamSpec

__all__ = ["Collision", "CollisionCheckFailed", "find_collisions"]

# (list method, result key, item field, kind, is_uri, capability)
_KINDS: tuple[tuple[str, str, str, str, bool, str], ...] = (
    ("tools/list", "tools", "name", "tool", False, "tools"),
    ("prompts/list", "prompts", "name", "prompt", False, "prompts"),
    ("resources/list", "resources", "uri", "resource", True, "resources"),
    ("resources/templates/list", "resourceTemplates", "uriTemplate", "resource template", True, "resources"),
)


_METHOD_NOT_FOUND = -32601


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


async def _list(session: Any, method: str, key: str) -> list[dict[str, Any]]:
    """All items of one list; a list method the upstream does not implement is empty."""
    from msplex.upstream.lists import ListError, list_all

    try:
        return await list_all(session, method, key)
    except ListError as exc:
        if exc.error.get("code") == _METHOD_NOT_FOUND:
            return []
        raise


async def _public_names(spec: UpstreamSpec, prefixed: bool) -> dict[str, str]:
    """``public name -> kind`` of everything ``spec`` advertises, as the catalogue would name it."""
    from msplex.upstream import open_session

    opened: Any = open_session(spec)
    session = await opened if inspect.isawaitable(opened) else opened
    names: dict[str, str] = {}
    try:
        facts = await session.start()
        capabilities = facts.capabilities or {}
        for method, key, field, kind, is_uri, capability in _KINDS:
            if capability not in capabilities:
                continue
            for item in await _list(session, method, key):
                raw = item.get(field)
                if not isinstance(raw, str):
                    continue
                public = (
                    public_uri(spec.name, raw, prefixed=prefixed)
                    if is_uri
                    else public_name(spec.name, raw, prefixed=prefixed)
                )
                names.setdefault(f"{kind}:{public}" if not is_uri else f"uri:{public}", kind)
    finally:
        await session.close()
    return names


async def _names_or_fail(spec: UpstreamSpec, prefixed: bool, seconds: float) -> dict[str, str]:
    try:
        async with asyncio.timeout(seconds):
            return await _public_names(spec, prefixed)
    except TimeoutError:
        raise CollisionCheckFailed(spec.name, f"no answer within {seconds:g} s") from None
    except UpstreamError as exc:
        raise CollisionCheckFailed(spec.name, str(exc) or type(exc).__name__) from None
    except (OSError, ValueError) as exc:  # e.g. a stdio command that cannot be started
        raise CollisionCheckFailed(spec.name, f"{type(exc).__name__}: {exc}") from None


async def find_collisions(
    new: UpstreamSpec, others: Sequence[UpstreamEntry], *, seconds: float = 20.0
) -> list[Collision]:
    """Names of unprefixed ``new`` that some upstream in ``others`` already exposes.

    Tools and prompts are separate namespaces; resources and templates share URIs.
    Each upstream gets ``seconds`` to connect and list everything.
    """
    others = [o for o in others if o.spec.name != new.name]
    results = await asyncio.gather(
        _names_or_fail(new, False, seconds),
        *(_names_or_fail(o.spec, o.prefix, seconds) for o in others),
        return_exceptions=True,  # let every session close before reporting
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    mine, *theirs = (r for r in results if isinstance(r, dict))
    found: list[Collision] = []
    for other, names in zip(others, theirs, strict=True):
        for key in sorted(mine.keys() & names.keys()):
            found.append(Collision(kind=mine[key], public=key.partition(":")[2], other_upstream=other.spec.name))
    return found
