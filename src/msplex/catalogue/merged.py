"""One tenant's merged catalogue: every source's items under their public names, in a
deterministic order, each with the ``Target`` a call to it resolves to.

Built from each source's last good listing, so an instance that is down keeps
contributing what it last served. A ``Catalogue`` is immutable; the tenant's
catalogue swaps in a new one when any listing changes, so readers never see a
half-built one. Lists are filtered by the caller's visibility predicate before
they are paginated, so a page never counts what the caller may not see.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from msplex import protocol
from msplex.call import Target, TargetKind
from msplex.catalogue.listing import JSON, Source
from msplex.catalogue.naming import public_name, public_uri, split_uri
from msplex.protocol.headers import ParamMap, param_header_map

__all__ = ["Catalogue", "Conflict", "Visible", "decode_cursor", "encode_cursor"]

Visible = Callable[[Target], bool]
"""Whether the caller may see (and so call) an item: the same predicate guards lists and calls."""

_Entry = tuple[JSON, Target]


class Conflict(NamedTuple):
    """A public name two sources claim: ``instance`` loses it to ``holder``, which came first."""

    key: str
    public: str
    instance: str
    holder: str


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]*\})", template)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") and p.endswith("}") else re.escape(p) for p in parts) + "$"
    )


@dataclass(frozen=True)
class Catalogue:
    version: int
    entries: dict[str, tuple[_Entry, ...]] = field(default_factory=dict)
    """Per result key (``tools``, ``resources``, ``resourceTemplates``, ``prompts``): public item and target."""
    tools: dict[str, Target] = field(default_factory=dict)
    prompts: dict[str, Target] = field(default_factory=dict)
    resources: dict[str, Target] = field(default_factory=dict)
    param_maps: dict[str, ParamMap] = field(default_factory=dict)
    """Tools that mirror arguments into ``Mcp-Param-*`` headers, by public name."""
    templates: tuple[tuple[re.Pattern[str], Target], ...] = ()
    sources: dict[str, Source] = field(default_factory=dict)
    unprefixed: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()

    @classmethod
    def build(cls, version: int, sources: Sequence[Source]) -> Catalogue:
        """Merge ``sources`` (in order: an earlier source wins a contested name)."""
        found: dict[str, dict[str, _Entry]] = {key: {} for key in protocol.LIST_METHODS.values()}
        tables: dict[str, dict[str, Target]] = {"tools": {}, "prompts": {}, "resources": {}}
        templates: list[tuple[re.Pattern[str], Target]] = []
        conflicts: list[Conflict] = []

        def claim(
            key: str, kind: TargetKind, public: str, source: Source, name: str, item: JSON, public_item: JSON
        ) -> Target | None:
            if (held := found[key].get(public)) is not None:
                conflicts.append(Conflict(key, public, source.instance, held[1].instance))
                return None
            target = Target(kind, public, source.instance, name, source.connector, source.provider, item, source.vendor)
            found[key][public] = (public_item, target)
            if key in tables:
                tables[key][public] = target
            return target

        for src in sources:
            pre, lst = src.prefixed, src.listing
            for tool in lst.tools:
                if isinstance(name := tool.get("name"), str):
                    public = public_name(src.instance, name, prefixed=pre)
                    claim("tools", "tool", public, src, name, tool, {**tool, "name": public})
            for prompt in lst.prompts:
                if isinstance(name := prompt.get("name"), str):
                    public = public_name(src.instance, name, prefixed=pre)
                    claim("prompts", "prompt", public, src, name, prompt, {**prompt, "name": public})
            for res in lst.resources:
                if isinstance(uri := res.get("uri"), str):
                    public = public_uri(src.instance, uri, prefixed=pre)
                    claim("resources", "resource", public, src, uri, res, {**res, "uri": public})
            for tpl in lst.resourceTemplates:
                if isinstance(uri := tpl.get("uriTemplate"), str):
                    public = public_uri(src.instance, uri, prefixed=pre)
                    public_tpl = {**tpl, "uriTemplate": public}
                    target = claim("resourceTemplates", "resource", public, src, uri, tpl, public_tpl)
                    if target is not None:
                        templates.append((_template_regex(public), target))
        param_maps = {
            public: mapping
            for public, target in tables["tools"].items()
            if (mapping := param_header_map((target.item or {}).get("inputSchema")))
        }
        return cls(
            version=version,
            entries={key: tuple(v for _, v in sorted(d.items())) for key, d in found.items()},
            tools=tables["tools"],
            prompts=tables["prompts"],
            resources=tables["resources"],
            param_maps=param_maps,
            templates=tuple(templates),
            sources={s.instance: s for s in sources},
            unprefixed=tuple(s.instance for s in sources if not s.prefixed),
            conflicts=tuple(conflicts),
        )

    def items(self, key: str) -> tuple[JSON, ...]:
        """The public items of one kind, in list order (for change detection and operators)."""
        return tuple(item for item, _ in self.entries.get(key, ()))

    def route_uri(self, uri: str) -> Target | None:
        """The target of a public URI: a listed resource, a prefixed upstream's URI, a template
        match, or the first unprefixed source (which may serve URIs it does not list)."""
        if (target := self.resources.get(uri)) is not None:
            return target
        split = split_uri(uri)
        if split is not None and (src := self.sources.get(split[0])) is not None and src.prefixed:
            return Target("resource", uri, src.instance, split[1], src.connector, src.provider)
        for pattern, tpl in self.templates:  # prefixed templates were matched by the split above
            if pattern.match(uri):
                return Target("resource", uri, tpl.instance, uri, tpl.connector, tpl.provider)
        if self.unprefixed:
            src = self.sources[self.unprefixed[0]]
            return Target("resource", uri, src.instance, uri, src.connector, src.provider)
        return None

    def page(self, method: str, cursor: Any, size: int, visible: Visible | None = None) -> JSON:
        """One page of a list method's items the caller may see; ``ValueError`` for a foreign cursor."""
        key = protocol.LIST_METHODS[method]
        entries = self.entries.get(key, ())
        if visible is not None:
            entries = tuple(e for e in entries if visible(e[1]))
        start = decode_cursor(cursor) if cursor is not None else 0
        end = start + size
        result: JSON = {key: [item for item, _ in entries[start:end]]}
        if end < len(entries):
            result["nextCursor"] = encode_cursor(end)
        return result


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


def decode_cursor(cursor: Any) -> int:
    """The offset in ``cursor``; ``ValueError`` for anything this gateway did not issue."""
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise ValueError("invalid cursor")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
    except Exception as exc:
        raise ValueError("invalid cursor") from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError("invalid cursor")
    return offset
