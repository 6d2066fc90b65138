"""Tool policy's semantics (``msplex.policy``): first match by priority, the conditions a rule can set,
CEL argument conditions failing closed, the read-only tenant, and what a list shows."""

from __future__ import annotations

from typing import Any

import pytest

from msplex.call import Target
from msplex.policy import READ_ONLY_RULE, CelError, Facts, Policy, compile_condition
from msplex.store.records import PolicyRuleRecord

DESTRUCTIVE = {"destructiveHint": True}
READ_ONLY = {"readOnlyHint": True}


def _target(name: str = "ev__wipe", annotations: dict[str, Any] | None = None, kind: str = "tool") -> Target:
    item = {"name": name, "annotations": annotations} if annotations is not None else {"name": name}
    return Target(kind, name, "ev", name, None, "upstream", item)  # type: ignore[arg-type]


def _rule(name: str, effect: str, priority: int = 100, seq: int = 0, **conditions: Any) -> PolicyRuleRecord:
    for key in ("audiences", "customers", "tools"):
        conditions[key] = tuple(conditions.get(key, ()))
    return PolicyRuleRecord(f"id-{name}", name, priority, effect, seq=seq, **conditions)  # type: ignore[arg-type]


def _facts(target: Target, audience: str = "member", customer: str | None = None, **args: Any) -> Facts:
    return Facts(target, audience, customer, None, "token:k1", args)


def test_members_may_not_call_destructive_tools_and_the_verdict_names_the_rule() -> None:
    policy = Policy([_rule("no-destructive", "deny", audiences=["member"], destructive=True, reason="ask an admin")])
    verdict = policy.decide(_facts(_target(annotations=DESTRUCTIVE)))
    assert (verdict.effect, verdict.rule, verdict.reason) == ("deny", "no-destructive", "ask an admin")
    assert policy.decide(_facts(_target(annotations=DESTRUCTIVE), audience="admin")).effect is None
    assert policy.decide(_facts(_target(annotations=READ_ONLY))).effect is None
    assert policy.decide(_facts(_target())).effect is None  # an unannotated tool states no hint


def test_the_first_match_by_priority_decides_then_the_older_rule() -> None:
    rules = [
        _rule("deny-all", "deny", priority=100, seq=1),
        _rule("allow-peek", "allow", priority=10, seq=2, tools=["ev__peek"]),
        _rule("approve-peek", "approve", priority=10, seq=3, tools=["ev__p*"]),
    ]
    policy = Policy(rules)
    assert policy.decide(_facts(_target("ev__peek"))).rule == "allow-peek"
    assert policy.decide(_facts(_target("ev__poke"))).rule == "approve-peek"
    assert policy.decide(_facts(_target("ev__wipe"))).rule == "deny-all"


def test_a_customer_bound_identity_may_pass_only_its_own_customers_ids() -> None:
    own = "has(args.customer_id) && args.customer_id != customer.id"
    policy = Policy([_rule("own-customer", "deny", audiences=["customer"], condition=own)])
    tool = _target("ev__tickets")
    assert policy.decide(_facts(tool, "customer", "c-alpha", customer_id="c-beta")).rule == "own-customer"
    assert policy.decide(_facts(tool, "customer", "c-alpha", customer_id="c-alpha")).effect is None
    assert policy.decide(_facts(tool, "customer", "c-alpha")).effect is None
    assert policy.decide(_facts(tool, "member", None, customer_id="c-beta")).effect is None


def test_a_condition_that_cannot_be_evaluated_fails_closed() -> None:
    """``args.customer_id`` is absent: the deny rule matches, the allow rule does not."""
    policy = Policy(
        [
            _rule("allow-own", "allow", priority=1, condition="args.customer_id == customer.id"),
            _rule("deny-other", "deny", priority=2, condition="args.customer_id != customer.id"),
        ]
    )
    assert policy.decide(_facts(_target("ev__tickets"), "customer", "c-1")).rule == "deny-other"
    assert policy.decide(_facts(_target("ev__tickets"), "customer", "c-1", customer_id="c-1")).rule == "allow-own"


def test_customer_audience_and_tool_conditions_all_must_hold() -> None:
    rule = _rule("alpha-docs", "approve", audiences=["member"], customers=["c-alpha"], tools=["docs__*"])
    policy = Policy([rule])
    assert policy.decide(_facts(_target("docs__read"), "member", "c-alpha")).effect == "approve"
    for facts in (
        _facts(_target("docs__read"), "admin", "c-alpha"),
        _facts(_target("docs__read"), "member", "c-beta"),
        _facts(_target("docs__read"), "member", None),
        _facts(_target("ev__read"), "member", "c-alpha"),
    ):
        assert policy.decide(facts).effect is None


def test_annotation_conditions_never_match_prompts_or_resources() -> None:
    policy = Policy([_rule("no-writes", "deny", read_only=False), _rule("no-destructive", "deny", destructive=True)])
    assert policy.decide(_facts(_target("ev__greet", kind="prompt"))).effect is None
    assert policy.decide(_facts(_target("file:///etc", kind="resource"))).effect is None
    assert policy.decide(_facts(_target("ev__write"))).rule == "no-writes"
    assert policy.decide(_facts(_target("ev__peek", READ_ONLY))).effect is None


def test_a_read_only_tenant_runs_only_read_only_tools_before_any_rule() -> None:
    policy = Policy([_rule("allow-all", "allow", priority=-5)], read_only=True)
    assert policy.decide(_facts(_target("ev__wipe", DESTRUCTIVE))).rule == READ_ONLY_RULE
    assert policy.decide(_facts(_target("ev__slow"))).rule == READ_ONLY_RULE
    assert policy.decide(_facts(_target("ev__peek", READ_ONLY))).rule == "allow-all"
    assert policy.decide(_facts(_target("ev__greet", kind="prompt"))).rule == "allow-all"
    assert not policy.listable(_target("ev__slow"), "admin", None)
    assert policy.listable(_target("ev__peek", READ_ONLY), "admin", None)


def test_a_list_hides_what_every_call_would_deny_and_keeps_what_arguments_decide() -> None:
    policy = Policy(
        [
            _rule("allow-admins", "allow", priority=1, audiences=["admin"]),
            _rule("own-customer", "deny", priority=2, condition="args.customer_id != customer.id"),
            _rule("no-destructive", "deny", priority=3, destructive=True),
        ]
    )
    wipe = _target("ev__wipe", DESTRUCTIVE)
    assert policy.listable(wipe, "admin", None)  # an earlier allow wins
    assert policy.listable(wipe, "member", None)  # an argument condition decides first: listed
    only_static = Policy([_rule("no-destructive", "deny", destructive=True)])
    assert not only_static.listable(wipe, "member", None)
    assert only_static.listable(_target("ev__peek", READ_ONLY), "member", None)


def test_conditions_are_checked_when_compiled() -> None:
    assert compile_condition("args.n > 3 && name.startsWith('ev__')").source.startswith("args.n")
    for bad, why in (("args.n +", "Syntax error"), ("nobody == 1", "undeclared"), ("args.n + 1", "boolean")):
        with pytest.raises(CelError, match=why):
            compile_condition(bad)


def test_a_stored_condition_that_no_longer_compiles_fails_closed() -> None:
    broken = "args.n +"
    policy = Policy([_rule("deny-broken", "deny", priority=1, condition=broken), _rule("allow-broken", "allow",
                     priority=0, condition=broken)])  # fmt: skip
    assert policy.decide(_facts(_target("ev__x"))).rule == "deny-broken"
