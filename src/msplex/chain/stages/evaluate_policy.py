"""Stage 8: evaluate tool policy and RBAC.

The tenant's rules (``msplex.policy``), compiled once per control-plane
snapshot, decide each call that has a target (``tools/call``, ``prompts/get``,
``resources/read``, subscriptions and completions): ``deny`` refuses it naming
the rule, ``allow`` and ``approve`` record the ``Decision`` that stage 10
reads (``approve``: a person must approve first). When no rule matches, the
call goes on undecided and stage 10 applies its default. The arguments a rule
sees are the call's ``arguments`` (``{"uri": ...}`` for a resource). Lists are
filtered by the same rules in ``msplex.access`` (``Access.listed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from msplex.call import Call, Decision
from msplex.chain.stage import Applies
from msplex.errors import Code, Denied, Stage
from msplex.policy import Facts, Policy

__all__ = ["EvaluatePolicy", "facts_of"]


def facts_of(call: Call) -> Facts:
    """What the rules see of ``call``; its customer is the one stage 3 resolved (``Call.customer``)."""
    target, principal, customer = call.target, call.principal, call.customer
    assert target is not None
    arguments: Any = call.params.get("arguments") if target.kind != "resource" else {"uri": target.public}
    return Facts(
        target=target,
        audience=principal.audience if principal is not None else "public",
        customer_id=customer.id if customer is not None else None,
        customer_slug=customer.slug if customer is not None else None,
        principal=principal.key if principal is not None else "anonymous",
        arguments=arguments if type(arguments) is dict else None,
    )


class EvaluatePolicy:
    name: ClassVar[Stage] = Stage.EVALUATE_POLICY
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, policies: Callable[[str], Policy | None]) -> None:
        self._policies = policies

    async def __call__(self, call: Call) -> Call:
        if call.target is None:
            return call
        assert call.tenant is not None  # resolve_tenant ran
        policy = self._policies(call.tenant.id)
        if policy is None or policy.empty:
            return call
        verdict = policy.decide(facts_of(call))
        if verdict.effect is None:
            return call
        if verdict.effect == "deny":
            why = f": {verdict.reason}" if verdict.reason else ""
            denied = Denied(self.name, Code.POLICY, f"rule '{verdict.rule}' denies '{call.target.public}'{why}")
            denied.data = {**denied.data, "rule": verdict.rule}
            raise denied
        return call.learned(decision=Decision(verdict.rule, approval=verdict.effect == "approve"))
