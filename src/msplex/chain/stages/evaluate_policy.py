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
from msplex.store.records import CustomerRecord

__all__ = ["EvaluatePolicy", "customer_of", "facts_of"]


def customer_of(call: Call) -> tuple[str | None, str | None]:
    """The id and slug of the customer the call is bound to (resolved, else the identity's own: its slug
    is then unknown here)."""
    if call.customer is not None:
        return call.customer.id, call.customer.slug
    principal = call.principal
    return (principal.customer_id if principal is not None else None), None


def facts_of(call: Call, customers: Callable[[str], CustomerRecord | None] | None = None) -> Facts:
    """What the rules see of ``call``; ``customers`` finds the slug of an identity's own customer."""
    target, principal = call.target, call.principal
    assert target is not None
    customer_id, customer_slug = customer_of(call)
    if customer_slug is None and customer_id is not None and customers is not None:
        record = customers(customer_id)
        customer_slug = record.slug if record is not None else None
    arguments: Any = call.params.get("arguments") if target.kind != "resource" else {"uri": target.public}
    return Facts(
        target=target,
        audience=principal.audience if principal is not None else "public",
        customer_id=customer_id,
        customer_slug=customer_slug,
        principal=principal.key if principal is not None else "anonymous",
        arguments=arguments if type(arguments) is dict else None,
    )


class EvaluatePolicy:
    name: ClassVar[Stage] = Stage.EVALUATE_POLICY
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(
        self,
        policies: Callable[[str], Policy | None],
        customers: Callable[[str], CustomerRecord | None] | None = None,
    ) -> None:
        self._policies = policies
        self._customers = customers

    async def __call__(self, call: Call) -> Call:
        if call.target is None:
            return call
        assert call.tenant is not None  # resolve_tenant ran
        policy = self._policies(call.tenant.id)
        if policy is None or policy.empty:
            return call
        verdict = policy.decide(facts_of(call, self._customers))
        if verdict.effect is None:
            return call
        if verdict.effect == "deny":
            why = f": {verdict.reason}" if verdict.reason else ""
            denied = Denied(self.name, Code.POLICY, f"rule '{verdict.rule}' denies '{call.target.public}'{why}")
            denied.data = {**denied.data, "rule": verdict.rule}
            raise denied
        return call.learned(decision=Decision(verdict.rule, approval=verdict.effect == "approve"))
