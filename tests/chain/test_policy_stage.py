"""Stage 8 on its own: the decision stage 10 reads, the denial naming its rule, prompts and resources
reached by name but never by tool annotations, and a customer-bound identity's own customer."""

from __future__ import annotations

from typing import Any

import pytest

from msplex.call import Call, Decision, Principal, Target
from msplex.chain.stages.check_approval import approval_required
from msplex.chain.stages.evaluate_policy import EvaluatePolicy
from msplex.errors import Code, Denied
from msplex.policy import Policy
from msplex.store.models import utcnow
from msplex.store.records import CustomerRecord, PolicyRuleRecord, TenantRecord

TENANT = TenantRecord("t-1", "acme", "Acme", False, utcnow())
ALPHA = CustomerRecord("c-alpha", TENANT.id, "alpha", "Alpha", utcnow())


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


def _call(method: str, kind: str, name: str, annotations: dict[str, Any] | None = None, **args: Any) -> Call:
    item = {"name": name, "annotations": annotations or {}}
    target = Target(kind, name, "ev", name, None, "upstream", item)  # type: ignore[arg-type]
    params = {"uri": name} if kind == "resource" else {"name": name, "arguments": args}
    principal = Principal("token", TENANT.id, "k1", "customer", customer_id=ALPHA.id)
    call = Call(method, params, 1, "modern", "2026-07-28", {}, _Peer())
    return call.learned(tenant=TENANT, principal=principal, customer=ALPHA, target=target)  # as stage 3 resolves it


def _stage(*rules: PolicyRuleRecord) -> EvaluatePolicy:
    policy = Policy(rules)
    return EvaluatePolicy(lambda tenant_id: policy)


def _rule(name: str, effect: str, **conditions: Any) -> PolicyRuleRecord:
    for key in ("audiences", "customers", "tools"):
        conditions[key] = tuple(conditions.get(key, ()))
    return PolicyRuleRecord(f"id-{name}", name, 100, effect, **conditions)  # type: ignore[arg-type]


async def test_a_denial_names_its_stage_and_rule() -> None:
    stage = _stage(_rule("no-destructive", "deny", destructive=True, reason="ask an admin"))
    with pytest.raises(Denied) as denied:
        await stage(_call("tools/call", "tool", "ev__wipe", {"destructiveHint": True}))
    assert denied.value.code is Code.POLICY and denied.value.to_wire()["code"] == -32003
    assert denied.value.data == {
        "stage": "evaluate_policy",
        "reason": "rule 'no-destructive' denies 'ev__wipe': ask an admin",
        "rule": "no-destructive",
    }


async def test_the_decision_is_what_stage_10_reads_both_ways() -> None:
    stage = _stage(_rule("approve-reads", "approve", tools=["ev__read*"]), _rule("allow-wipes", "allow"))
    held = await stage(_call("tools/call", "tool", "ev__read_all"))
    assert held.decision == Decision("approve-reads", approval=True) and approval_required(held)
    waved = await stage(_call("tools/call", "tool", "ev__wipe", {"destructiveHint": True}))
    assert waved.decision == Decision("allow-wipes", approval=False) and not approval_required(waved)


async def test_no_match_leaves_the_call_undecided_for_stage_10s_default() -> None:
    call = _call("tools/call", "tool", "ev__wipe", {"destructiveHint": True})
    assert await _stage(_rule("other", "deny", tools=["x__*"]))(call) is call
    assert approval_required(call)


async def test_prompts_and_resources_are_reached_by_name_and_arguments_not_annotations() -> None:
    stage = _stage(
        _rule("no-destructive", "deny", destructive=True),
        _rule("no-secrets", "deny", tools=["file:///secrets/*"]),
        _rule("no-etc", "deny", condition="kind == 'resource' && args.uri.startsWith('file:///etc')"),
    )
    prompt = _call("prompts/get", "prompt", "ev__greet")
    assert await stage(prompt) is prompt
    for uri, rule in (("file:///secrets/key", "no-secrets"), ("file:///etc/passwd", "no-etc")):
        with pytest.raises(Denied) as denied:
            await stage(_call("resources/read", "resource", uri))
        assert denied.value.data["rule"] == rule


async def test_a_customer_bound_identity_is_checked_against_its_own_customer() -> None:
    stage = _stage(_rule("own", "deny", audiences=["customer"], condition="args.customer != customer.slug"))
    assert (await stage(_call("tools/call", "tool", "ev__t", customer="alpha"))).decision is None
    with pytest.raises(Denied):
        await stage(_call("tools/call", "tool", "ev__t", customer="beta"))
