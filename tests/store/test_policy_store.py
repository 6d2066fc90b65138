"""Policy rules, quotas and the read-only flag in the store, on both backends: kept per tenant, reaching
the control-plane snapshot in evaluation order, and refused when they could not run."""

from __future__ import annotations

import pytest

from msplex.store import AlreadyExists, InvalidInput, NotFound, Store


async def test_rules_quotas_and_read_only_reach_the_snapshot_per_tenant(store: Store) -> None:
    acme = await store.create_tenant("acme")
    beta = await store.create_tenant("beta")
    alpha = await store.tenant("acme").create_customer("alpha")
    policies = store.tenant("acme").policies
    await policies.add_rule("later", "deny", priority=50, destructive=True, audiences=["member"])
    await policies.add_rule("first", "approve", priority=5, customers=["alpha"], tools=["ev__*"],
                            condition="has(args.customer_id)", reason="check with alpha")  # fmt: skip
    await policies.add_rule("tie", "allow", priority=50)
    await policies.set_quota("daily", scope="customer", subject="alpha", window="day", limit=10, overage=True)
    await store.tenant("beta").policies.set_quota("monthly", scope="tenant", window="month", limit=5)
    version = await store.control_version()
    await store.set_read_only("acme", True)
    assert await store.control_version() > version

    snapshot = await store.load_snapshot()
    rules = snapshot.policies[acme.id]
    assert [r.name for r in rules] == ["first", "later", "tie"]
    assert rules[0].customers == (alpha.id,) and rules[0].tools == ("ev__*",) and rules[0].reason == "check with alpha"
    assert rules[1].audiences == ("member",) and rules[1].destructive is True and rules[1].read_only is None
    [daily] = snapshot.quotas[acme.id]
    assert (daily.scope, daily.subject, daily.limit, daily.overage) == ("customer", alpha.id, 10, True)
    assert [q.name for q in snapshot.quotas[beta.id]] == ["monthly"] and beta.id not in snapshot.policies
    assert snapshot.tenants["acme"].read_only and not snapshot.tenants["beta"].read_only

    await policies.set_quota("daily", scope="tenant", window="minute", limit=3)
    await policies.remove_rule("tie")
    assert [(q.scope, q.limit) for q in await policies.list_quotas()] == [("tenant", 3)]
    assert [r.name for r in await policies.list_rules()] == ["first", "later"]
    assert await store.tenant("beta").policies.list_rules() == []


async def test_what_could_not_run_is_refused(store: Store) -> None:
    await store.create_tenant("acme")
    policies = store.tenant("acme").policies
    with pytest.raises(InvalidInput, match="undeclared reference"):
        await policies.add_rule("r1", "deny", condition="nobody.id == 1")
    with pytest.raises(NotFound, match="customer 'zeta'"):
        await policies.add_rule("r1", "deny", customers=["zeta"])
    with pytest.raises(InvalidInput, match="names no customer"):
        await policies.set_quota("q1", scope="tenant", subject="x", window="day", limit=1)
    await policies.add_rule("r1", "deny")
    with pytest.raises(AlreadyExists):
        await policies.add_rule("r1", "allow")
    with pytest.raises(NotFound):
        await store.tenant("beta").policies.remove_rule("r1")
    with pytest.raises(NotFound):
        await policies.remove_quota("q9")
