"""Who may see, and so call, which catalogue item: the one effective-items function.

An item is visible to a viewer when all of these hold:

1. the tenant's item rules enable it for the viewer's audience: the last rule whose
   pattern matches the item decides, and an item no rule matches is off (new items
   arrive disabled);
2. a token's tool patterns, if it has any, match it (they only narrow the role);
3. on an entity endpoint, the entity's selection matches it.

A list (and so the CLI's ``tool effective`` and the admin API's effective
tools) further drops what the tenant's tool policy would deny every call of
(``listed``, ``msplex.policy.Policy.listable``); a call to such an item is
found (``visible``) and then refused by the policy stage, which names its rule.

``tools/list`` (and the other lists), ``tools/call`` (and get, read, subscribe,
complete), the CLI's ``tool effective`` and the admin API all ask this module, so
"did this caller see this item?" has one answer. What the chain refuses by item
beyond these rules (the plan's connectors, an instance's readiness) narrows it
further: the lists through the stages' ``Sieve`` predicates, the effective view
through ``effective(..., admits)``. Patterns are shell globs on public
names (``ev__*``, ``docs+file://*``), matched case-sensitively.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import translate
from functools import lru_cache
from typing import TYPE_CHECKING

from msplex.call import Target, TargetKind, Viewer
from msplex.catalogue.merged import Catalogue
from msplex.store.records import Audience, ItemRuleRecord

if TYPE_CHECKING:
    from msplex.policy import Policy

__all__ = ["Access", "Item", "Viewer", "glob", "matches"]

_CACHE_VIEWERS = 256


@lru_cache(maxsize=4096)
def glob(pattern: str) -> re.Pattern[str]:
    """A shell glob on public names, compiled (cached: the same pattern compiles once)."""
    return re.compile(translate(pattern))


def matches(patterns: Sequence[str], name: str) -> bool:
    return any(glob(p).match(name) for p in patterns)


@dataclass(frozen=True, slots=True)
class Item:
    """One catalogue item as the effective view shows it (CLI, admin API)."""

    kind: TargetKind
    public: str
    source: str
    enabled: bool
    audiences: tuple[Audience, ...]
    visible: bool
    rule: str | None
    """The pattern of the deciding rule; ``None``: no rule matches (off by default)."""


class Access:
    """One tenant's item rules, compiled, and its tool policy; swapped whole when either changes."""

    def __init__(self, rules: Sequence[ItemRuleRecord] = (), policy: Policy | None = None) -> None:
        self.rules = tuple(rules)
        self.policy = policy
        self._ordered = tuple((r, glob(r.pattern)) for r in reversed(self.rules))
        self._sets: dict[tuple[int, Viewer], frozenset[tuple[str, str]]] = {}
        self._listed: dict[tuple[int, Viewer, str | None], frozenset[tuple[str, str]]] = {}

    def decide(self, kind: TargetKind, public: str) -> ItemRuleRecord | None:
        """The rule that decides an item: the newest whose pattern matches."""
        for rule, pattern in self._ordered:
            if rule.kind == kind and pattern.match(public):
                return rule
        return None

    def allows(self, viewer: Viewer, kind: TargetKind, public: str) -> bool:
        rule = self.decide(kind, public)
        if rule is None or not rule.enabled or viewer.audience not in rule.audiences:
            return False
        if viewer.tools is not None and not matches(viewer.tools, public):
            return False
        return viewer.selection is None or matches(viewer.selection, public)

    def visible(self, catalogue: Catalogue, viewer: Viewer) -> Callable[[Target], bool]:
        """The predicate for one caller on one catalogue. Listed items are decided once per
        (catalogue version, viewer) and looked up after; a URI no listing names is decided on the spot."""
        key = (catalogue.version, viewer)
        allowed = self._sets.get(key)
        if allowed is None:
            if len(self._sets) >= _CACHE_VIEWERS:
                self._sets.clear()
            allowed = self._sets[key] = frozenset(
                (t.kind, t.public)
                for entries in catalogue.entries.values()
                for _, t in entries
                if self.allows(viewer, t.kind, t.public)
            )

        def visible(target: Target) -> bool:
            if target.item is None:
                return self.allows(viewer, target.kind, target.public)
            return (target.kind, target.public) in allowed

        return visible

    def listed(self, catalogue: Catalogue, viewer: Viewer, customer_id: str | None = None) -> Callable[[Target], bool]:
        """What a list shows this caller (bound to ``customer_id``, if any): the visible items the tool
        policy does not deny outright. Decided once per (catalogue version, viewer, customer)."""
        policy = self.policy
        if policy is None or policy.empty:
            return self.visible(catalogue, viewer)
        key = (catalogue.version, viewer, customer_id)
        shown = self._listed.get(key)
        if shown is None:
            if len(self._listed) >= _CACHE_VIEWERS:
                self._listed.clear()
            shown = self._listed[key] = frozenset(
                (t.kind, t.public)
                for entries in catalogue.entries.values()
                for _, t in entries
                if self._shows(viewer, customer_id, t)
            )

        def listed(target: Target) -> bool:
            if target.item is None:
                return self._shows(viewer, customer_id, target)
            return (target.kind, target.public) in shown

        return listed

    def _shows(self, viewer: Viewer, customer_id: str | None, target: Target) -> bool:
        if not self.allows(viewer, target.kind, target.public):
            return False
        return self.policy is None or self.policy.listable(target, viewer.audience, customer_id)

    def effective(
        self,
        catalogue: Catalogue,
        viewer: Viewer | None,
        admits: Callable[[Target], bool] | None = None,
        *,
        customer_id: str | None = None,
    ) -> list[Item]:
        """Every item of the catalogue with its state and, for ``viewer`` (bound to ``customer_id``), whether a
        list shows it: the rules and the tool policy allow it and ``admits`` (the chain's item-refusing stages,
        such as the plan's entitlement) lets it through."""
        items: list[Item] = []
        for entries in catalogue.entries.values():
            for _, target in entries:
                rule = self.decide(target.kind, target.public)
                enabled = rule is not None and rule.enabled
                audiences = rule.audiences if rule is not None and rule.enabled else ()
                visible = viewer is not None and self._shows(viewer, customer_id, target)
                visible = visible and (admits is None or admits(target))
                pattern = rule.pattern if rule is not None else None
                items.append(Item(target.kind, target.public, target.instance, enabled, audiences, visible, pattern))
        return sorted(items, key=lambda i: (i.kind, i.public))
