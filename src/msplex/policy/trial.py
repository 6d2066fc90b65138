"""``policy test``: evaluate a hypothetical call against a tenant's rules, as stage 8 would.

Shared by the CLI and the admin API. The item's annotations come from the
tenant's catalogue, listed from its upstreams now, unless given; an item no
upstream lists is tried without annotations (and the result says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from msplex.call import Target
from msplex.chain.stages.check_approval import default_approval
from msplex.policy import Facts, Policy, Verdict
from msplex.store import Store
from msplex.store.errors import InvalidInput, NotFound
from msplex.store.records import AUDIENCES, ITEM_KINDS

__all__ = ["Trial", "trial"]


@dataclass(frozen=True, slots=True)
class Trial:
    verdict: Verdict
    listed: bool
    """Whether a ``tools/list`` (or other list) would show the item to this caller."""
    annotations: Mapping[str, Any] | None
    """The annotations the trial used; ``None``: the item was not found and had none given."""
    approval: bool
    """Whether stage 10 would hold the call for a person's approval."""

    def explain(self) -> str:
        """One paragraph an operator reads."""
        verdict = self.verdict
        if verdict.effect is None:
            head = "no rule matches: the call proceeds undecided"
        else:
            word = {"allow": "allowed", "deny": "denied", "approve": "allowed once a person approves"}[verdict.effect]
            head = f"{word} by rule '{verdict.rule}'"
            if verdict.reason:
                head += f": {verdict.reason}"
        lines = [f"deciding rule: {verdict.rule or '(none)'}", head]
        if verdict.effect != "deny":
            lines.append("needs a person's approval (stage 10)" if self.approval else "needs no approval")
        lines.append("listed to this caller" if self.listed else "not listed to this caller")
        if self.annotations is None:
            lines.append("(the item is not in the catalogue now: tried without annotations)")
        return "\n".join(lines)


async def trial(
    store: Store,
    tenant: str,
    name: str,
    *,
    kind: str = "tool",
    audience: str = "member",
    customer: str | None = None,
    arguments: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
) -> Trial:
    """``NotFound`` for an unknown tenant or customer, ``InvalidInput`` for an unknown kind or audience."""
    from msplex.cli._catalogue import list_catalogue

    if kind not in ITEM_KINDS:
        raise InvalidInput("kind", f"'{kind}' is not one of {', '.join(ITEM_KINDS)}")
    if audience not in AUDIENCES:
        raise InvalidInput("audience", f"'{audience}' is not one of {', '.join(AUDIENCES)}")
    scope = store.tenant(tenant)
    record = await store.get_tenant(tenant)
    customer_id = None
    if customer is not None:
        customer_id = next((c.id for c in await scope.list_customers() if c.slug == customer), None)
        if customer_id is None:
            raise NotFound("customer", customer, tenant=tenant)
    policy = Policy(await scope.policies.list_rules(), read_only=record.read_only)
    item: dict[str, Any] | None = None
    vendor: str | None = None
    if annotations is not None:
        item = {"name": name, "annotations": dict(annotations)}
    else:
        listed = await list_catalogue(store, tenant)
        found = (listed.catalogue.tools if kind == "tool" else listed.catalogue.prompts).get(name)
        if found is not None and found.item is not None:
            item = dict(found.item)
            vendor = found.vendor
    target = Target(kind, name, "-", name, _Nothing(), "trial", item, vendor)
    facts = Facts(target, audience, customer_id, customer, f"trial:{audience}", arguments)
    verdict = policy.decide(facts)
    # stage 10's default where no rule decided
    approval = verdict.effect == "approve" if verdict.effect is not None else default_approval(target, arguments)
    shown = item.get("annotations") if item is not None else None
    return Trial(verdict, policy.listable(target, audience, customer_id), shown or ({} if item else None), approval)


class _Nothing:
    async def execute(self, call: Any) -> dict[str, Any]:
        raise RuntimeError("a trial never dispatches")
