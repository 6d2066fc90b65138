"""Tool policy and RBAC: one tenant's rules, compiled once per snapshot, deciding calls and lists.

A rule matches a call when every condition it gives holds: the caller's
audience (role), the customer the call is bound to, a glob on the public name,
the tool's annotations (``readOnlyHint`` / ``destructiveHint``: a hint counts
only when the tool states it ``true``, as the approval default reads it;
prompts and resources match no annotation condition) and a CEL condition
over the arguments (``msplex.policy.cel``).

Order: rules are tried by ascending ``priority``, then in the order they were
added; the **first match decides** (``allow``, ``deny``, or ``approve``: allow
once a person approves). No match: the call proceeds undecided, and stage 10
applies its default (destructive tools need an approval). A tenant in
read-only mode is decided before any rule: a tool not annotated
``readOnlyHint: true`` is denied by the built-in rule ``tenant read-only``.

A condition that fails to evaluate (a missing argument, a type mismatch)
fails closed: a ``deny`` or ``approve`` rule matches, an ``allow`` rule does
not.

Lists use the same rules without the arguments (``listable``): walking the
same order, the first rule that matches on everything but its condition
decides; a ``deny`` without a condition hides the item, and a rule with a
condition cannot be decided at list time, so it keeps the item listed (the
call may still be denied by its arguments). So a list never shows what every
call would deny, and never hides what some call would allow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from msplex.access import glob
from msplex.call import Target
from msplex.policy.cel import VARIABLES, CelError, Condition
from msplex.store.records import PolicyEffect, PolicyRuleRecord

__all__ = ["READ_ONLY_RULE", "VARIABLES", "CelError", "Facts", "Policy", "Verdict", "compile_condition", "hint"]

READ_ONLY_RULE = "tenant read-only"
log = logging.getLogger("msplex.policy")
_EMPTY: Mapping[str, Any] = {}


def compile_condition(source: str) -> Condition:
    """Compile (and so check) a rule's condition: ``CelError`` says what is wrong and where."""
    return Condition(source)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule can look at: the target (kind, name, annotations) and who asks, for which customer."""

    target: Target
    audience: str
    customer_id: str | None = None
    customer_slug: str | None = None
    principal: str = "anonymous"
    arguments: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The deciding rule's effect and name; ``effect`` ``None``: no rule matched."""

    effect: PolicyEffect | None
    rule: str | None = None
    reason: str | None = None


_UNDECIDED = Verdict(None)


def hint(target: Target, name: str) -> bool:
    """Whether the tool states annotation ``name`` as ``true`` (prompts and resources state none)."""
    if target.kind != "tool" or target.item is None:
        return False
    annotations = target.item.get("annotations")
    return type(annotations) is dict and annotations.get(name) is True


class _Unevaluable(Condition):
    """Stands in for a stored condition that no longer compiles: every evaluation fails (closed)."""

    def __init__(self) -> None:
        self.source = "<does not compile>"

    def holds(self, variables: Mapping[str, Any]) -> bool | None:
        return None


_NEVER_EVALUATES = _Unevaluable()


class _Rule:
    __slots__ = ("audiences", "condition", "customers", "destructive", "patterns", "read_only", "record")

    def __init__(self, record: PolicyRuleRecord) -> None:
        self.record = record
        self.audiences = frozenset(record.audiences)
        self.customers = frozenset(record.customers)
        self.patterns: tuple[re.Pattern[str], ...] | None = tuple(map(glob, record.tools)) if record.tools else None
        self.read_only = record.read_only
        self.destructive = record.destructive
        self.condition: Condition | None = None
        if record.condition:
            try:
                self.condition = Condition(record.condition)
            except CelError as exc:  # checked when added; a runtime that changed since must not open a door
                log.error("policy rule %r: its condition no longer compiles (%s); it fails closed", record.name, exc)
                self.condition = _NEVER_EVALUATES

    def matches_statically(self, target: Target, audience: str, customer_id: str | None) -> bool:
        """Everything but the condition."""
        if self.audiences and audience not in self.audiences:
            return False
        if self.customers and customer_id not in self.customers:
            return False
        if self.patterns is not None and not any(p.match(target.public) for p in self.patterns):
            return False
        if self.read_only is not None and (target.kind != "tool" or hint(target, "readOnlyHint") != self.read_only):
            return False
        return self.destructive is None or (
            target.kind == "tool" and hint(target, "destructiveHint") == self.destructive
        )

    def verdict(self) -> Verdict:
        return Verdict(self.record.effect, self.record.name, self.record.reason)


class Policy:
    """One tenant's compiled rules (and its read-only flag); immutable, swapped whole on change."""

    def __init__(self, rules: Sequence[PolicyRuleRecord] = (), *, read_only: bool = False) -> None:
        ordered = sorted(rules, key=lambda r: (r.priority, r.seq))
        self.records = tuple(rules)
        self.read_only = read_only
        self._rules = tuple(_Rule(r) for r in ordered)

    @property
    def empty(self) -> bool:
        """Nothing to decide: every call proceeds undecided (the chain skips the stage's work)."""
        return not self._rules and not self.read_only

    def same(self, rules: Sequence[PolicyRuleRecord], read_only: bool) -> bool:
        """Whether this policy was compiled from exactly ``rules`` (so a new snapshot can keep it)."""
        return self.read_only == read_only and self.records == tuple(rules)

    def decide(self, facts: Facts) -> Verdict:
        target = facts.target
        if self.read_only and target.kind == "tool" and not hint(target, "readOnlyHint"):
            return Verdict("deny", READ_ONLY_RULE, "the tenant is read-only: only tools annotated readOnlyHint run")
        variables: dict[str, Any] | None = None
        for rule in self._rules:
            if not rule.matches_statically(target, facts.audience, facts.customer_id):
                continue
            if rule.condition is None:
                return rule.verdict()
            if variables is None:
                variables = _variables(facts)
            held = rule.condition.holds(variables)
            if held is None:
                held = rule.record.effect != "allow"  # fail closed
            if held:
                return rule.verdict()
        return _UNDECIDED

    def listable(self, target: Target, audience: str, customer_id: str | None) -> bool:
        """Whether a list shows ``target`` to this caller (see the module docstring)."""
        if self.read_only and target.kind == "tool" and not hint(target, "readOnlyHint"):
            return False
        for rule in self._rules:
            if rule.matches_statically(target, audience, customer_id):
                return rule.condition is not None or rule.record.effect != "deny"
        return True


def _variables(facts: Facts) -> dict[str, Any]:
    target = facts.target
    annotations: Any = target.item.get("annotations") if target.kind == "tool" and target.item is not None else None
    return {
        "args": facts.arguments if facts.arguments is not None else _EMPTY,
        "name": target.public,
        "kind": target.kind,
        "audience": facts.audience,
        "customer": {"id": facts.customer_id or "", "slug": facts.customer_slug or ""},
        "principal": facts.principal,
        "annotations": annotations if type(annotations) is dict else _EMPTY,
    }
