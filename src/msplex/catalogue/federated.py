"""One tenant's merged catalogue: tools, resources, templates and prompts of
all its upstreams under their public names, in a deterministic order.

Built from each upstream's last good listing, so an upstream that is down
keeps contributing what it last served (and the runtime marks it unhealthy).
A merged ``Catalogue`` is immutable; the runtime swaps in a new one when any
upstream's listing changes, so readers never see a half-built catalogue.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from msplex.catalogue.naming import public_name, public_uri, split_uri

__all__ = ["KINDS", "Catalogue", "Listing", "Route", "decode_cursor", "encode_cursor"]

KINDS = {
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}
"""List method -> the result key holding its items."""

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Listing:
    """One upstream's items, exactly as it listed them (upstream names)."""

    tools: tuple[JSON, ...] = ()
    resources: tuple[JSON, ...] = ()
    resourceTemplates: tuple[JSON, ...] = ()
    prompts: tuple[JSON, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    upstream: str
    name: str
    """The item's name (or URI) at the upstream."""
    item: JSON | None = None


@dataclass(frozen=True, slots=True)
class UpstreamView:
    name: str
    prefixed: bool
    listing: Listing


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]*\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts) + "$"
    )


@dataclass(frozen=True)
class Catalogue:
    version: int
    items: dict[str, tuple[JSON, ...]] = field(default_factory=dict)
    tools: dict[str, Route] = field(default_factory=dict)
    prompts: dict[str, Route] = field(default_factory=dict)
    resources: dict[str, Route] = field(default_factory=dict)
    templates: tuple[tuple[re.Pattern[str], Route], ...] = ()
    prefixed: frozenset[str] = frozenset()
    unprefixed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    @classmethod
    def build(cls, version: int, views: list[UpstreamView]) -> Catalogue:
        """Merge ``views`` (in registration order: earlier wins a contested name)."""
        items: dict[str, dict[str, JSON]] = {key: {} for key in KINDS.values()}
        tools: dict[str, Route] = {}
        prompts: dict[str, Route] = {}
        resources: dict[str, Route] = {}
        templates: list[tuple[re.Pattern[str], Route]] = []
        conflicts: list[str] = []

        def claim(kind: str, table: dict[str, Route] | None, public: str, route: Route, item: JSON) -> None:
            if public in items[kind]:
                conflicts.append(f"{kind} {public!r} of upstream {route.upstream!r} is shadowed")
                return
            items[kind][public] = item
            if table is not None:
                table[public] = route

        for view in views:
            up, pre, lst = view.name, view.prefixed, view.listing
            for tool in lst.tools:
                name = tool.get("name")
                if isinstance(name, str):
                    public = public_name(up, name, prefixed=pre)
                    claim("tools", tools, public, Route(up, name, tool), {**tool, "name": public})
            for prompt in lst.prompts:
                name = prompt.get("name")
                if isinstance(name, str):
                    public = public_name(up, name, prefixed=pre)
                    claim("prompts", prompts, public, Route(up, name, prompt), {**prompt, "name": public})
            for res in lst.resources:
                uri = res.get("uri")
                if isinstance(uri, str):
                    public = public_uri(up, uri, prefixed=pre)
                    claim("resources", resources, public, Route(up, uri, res), {**res, "uri": public})
            for tpl in lst.resourceTemplates:
                uri = tpl.get("uriTemplate")
                if isinstance(uri, str):
                    public = public_uri(up, uri, prefixed=pre)
                    route = Route(up, uri, tpl)
                    claim("resourceTemplates", None, public, route, {**tpl, "uriTemplate": public})
                    templates.append((_template_regex(public), route))
        return cls(
            version=version,
            items={kind: tuple(v for _, v in sorted(d.items())) for kind, d in items.items()},
            tools=tools,
            prompts=prompts,
            resources=resources,
            templates=tuple(templates),
            prefixed=frozenset(v.name for v in views if v.prefixed),
            unprefixed=tuple(v.name for v in views if not v.prefixed),
            conflicts=tuple(conflicts),
        )

    def route_uri(self, uri: str) -> Route | None:
        """Which upstream serves ``uri`` (a public URI), and under which URI."""
        if (route := self.resources.get(uri)) is not None:
            return route
        split = split_uri(uri)
        if split is not None and split[0] in self.prefixed:
            return Route(split[0], split[1])
        for pattern, route in self.templates:
            if pattern.match(uri):
                return Route(route.upstream, uri)
        if self.unprefixed:
            return Route(self.unprefixed[0], uri)
        return None

    def page(self, method: str, cursor: str | None, size: int) -> JSON:
        kind = KINDS[method]
        items = self.items.get(kind, ())
        start = decode_cursor(cursor) if cursor is not None else 0
        end = start + size
        result: JSON = {kind: list(items[start:end])}
        if end < len(items):
            result["nextCursor"] = encode_cursor(end)
        return result


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset in ``cursor``; ``ValueError`` for anything this gateway did not issue."""
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise ValueError("invalid cursor")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
    except Exception as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(offset, int) or offset < 0:
        raise ValueError("invalid cursor")
    return offset
