"""Stages 3 to 7 on their own: what each decides for the cases a gateway test would take long to stage
(trial ends, grace periods, vendor connectors, a provider's health with its fix, malformed customers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from msplex.call import Call, Principal, Target
from msplex.catalogue.listing import Source
from msplex.catalogue.provider import Health, Publish
from msplex.catalogue.tenant import TenantCatalogue
from msplex.chain.stages.resolve_customer import ResolveCustomer
from msplex.chain.stages.verify_entitlement import VerifyEntitlement
from msplex.chain.stages.verify_readiness import VerifyReadiness
from msplex.chain.stages.verify_subscription import VerifySubscription
from msplex.directory import Directory
from msplex.entitlements import Entitlements, compile_entitlement, refusal
from msplex.errors import Code, Denied, Stage
from msplex.events import Event, EventBus
from msplex.state.memory import MemoryState
from msplex.store.models import utcnow
from msplex.store.records import CustomerRecord, PlanRecord, SubscriptionRecord, SubscriptionStatus, TenantRecord
from support.inproc import snapshot

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ACME = TenantRecord("t1", "acme", "Acme", False, NOW)
PLAN = PlanRecord("p1", "basic", ("halopsa", "ev"), 1000, "denied", NOW, NOW)


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


def _subscription(status: SubscriptionStatus, **kwargs: Any) -> SubscriptionRecord:
    fields: dict[str, Any] = {"grace_days": 7, "trial_ends_at": None, "past_due_since": None} | kwargs
    return SubscriptionRecord("t1", "p1", "basic", status, updated_at=NOW, **fields)


def _call(method: str = "tools/call", params: dict[str, Any] | None = None, **facts: Any) -> Call:
    call = Call(method, params or {"name": "x"}, 1, "modern", "2026-07-28", {}, _Peer())
    principal = facts.pop("principal", Principal("token", "t1", "k1", "member"))
    return call.learned(tenant=ACME, principal=principal, **facts)


def _target(instance: str, vendor: str | None = None, provider: str = "upstream") -> Target:
    return Target("tool", f"{instance}__t", instance, "t", None, provider, {"name": "t"}, vendor)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "fields", "refused"),
    [
        ("active", {}, None),
        ("trialing", {"trial_ends_at": NOW + timedelta(days=1)}, None),
        ("trialing", {"trial_ends_at": NOW - timedelta(seconds=1)}, "the trial of tenant 'acme' (plan 'basic') ended"),
        ("past_due", {"past_due_since": NOW - timedelta(days=6)}, None),
        ("past_due", {"past_due_since": NOW - timedelta(days=8)}, "is past due and its grace period ended on"),
        ("past_due", {"past_due_since": NOW, "grace_days": 0}, "grace period ended on 2026-11-30 12:00 UTC"),
        ("suspended", {}, "is suspended; calls are refused until it is reactivated"),
        ("cancelled", {}, "was cancelled; subscribe again"),
    ],
)
def test_each_status_is_served_or_refused_with_what_to_do(
    status: SubscriptionStatus, fields: dict[str, Any], refused: str | None
) -> None:
    entitlement = compile_entitlement(ACME, _subscription(status, **fields), PLAN, required=False)
    why = refusal(entitlement, NOW.timestamp())
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why and "msplex subscription set --tenant acme" in why


def test_a_tenant_without_a_subscription_is_unmetered_unless_one_is_required() -> None:
    free = compile_entitlement(ACME, None, None, required=False)
    assert refusal(free, NOW.timestamp()) is None and free.entitles(_target("anything"))
    required = compile_entitlement(ACME, None, None, required=True)
    why = refusal(required, NOW.timestamp())
    assert why is not None and "has no subscription, and this gateway requires one" in why


async def test_the_subscription_stage_refuses_lists_and_calls_but_not_what_reaches_no_connector() -> None:
    suspended = compile_entitlement(ACME, _subscription("suspended"), PLAN, required=False)
    for method in ("tools/call", "tools/list", "resources/read", "prompts/get"):
        with pytest.raises(Denied) as denied:
            await VerifySubscription()(_call(method, entitlement=suspended))
        assert denied.value.stage is Stage.VERIFY_SUBSCRIPTION and denied.value.code is Code.NOT_ENTITLED
    ping = _call("ping", {}, entitlement=suspended)
    assert await VerifySubscription()(ping) is ping


async def test_a_plan_entitles_vendor_connectors_by_kind_and_upstreams_by_name() -> None:
    entitlement = compile_entitlement(ACME, _subscription("active"), PLAN, required=False)
    stage = VerifyEntitlement()
    for target in (_target("halo-main", vendor="halopsa", provider="vendor"), _target("ev")):
        call = _call(entitlement=entitlement, target=target)
        assert await stage(call) is call
    for target, named in ((_target("hudu-1", vendor="hudu", provider="vendor"), "vendor connector 'hudu'"),
                          (_target("extra"), "upstream 'extra'")):  # fmt: skip
        with pytest.raises(Denied) as denied:
            await stage(_call(entitlement=entitlement, target=target))
        assert denied.value.code is Code.NOT_ENTITLED and f"{named} is not part of plan 'basic'" in denied.value.reason
    admits = stage.admits(_call("tools/list", entitlement=entitlement))
    assert admits is not None and admits(_target("ev")) and not admits(_target("extra"))
    star = PlanRecord("p2", "all", ("*",), None, "allowed", NOW, NOW)
    everything = compile_entitlement(ACME, _subscription("active"), star, required=False)
    assert everything.entitles(_target("hudu-1", vendor="hudu")) and stage.admits(_call(entitlement=everything)) is None


class _VendorProvider:
    """A provider reporting health as an MSP vendor connector would (its own test double of our contract)."""

    family = "vendor"

    def __init__(self, health: Mapping[str, Health]) -> None:
        self._health = health

    def sources(self) -> Sequence[Source]:
        return ()

    async def settle(self, within: float) -> None: ...

    def health(self) -> Mapping[str, Health]:
        return self._health

    def probe(self, quiet_for: float) -> None: ...

    async def refresh(self, instance: str, publish: Publish) -> None: ...

    def close(self) -> None: ...


async def test_readiness_is_generic_over_providers_and_says_the_providers_fix() -> None:
    state = MemoryState()
    catalogue = TenantCatalogue("t1", EventBus(state, "r"))
    catalogue.add(
        _VendorProvider(
            {
                "halo-main": Health("ok"),
                "halo-eu": Health("unhealthy", "credentials expired", fix="run `msplex connect halopsa --tenant acme`"),
                "halo-new": Health("starting"),
            }
        )
    )
    stage = VerifyReadiness(lambda tenant_id: catalogue if tenant_id == "t1" else None)
    ready = _call(target=_target("halo-main", "halopsa", "vendor"))
    assert await stage(ready) is ready
    reasons = {}
    for instance in ("halo-eu", "halo-new", "gone"):
        with pytest.raises(Denied) as denied:
            await stage(_call(target=_target(instance, "halopsa", "vendor")))
        assert denied.value.stage is Stage.VERIFY_READINESS and denied.value.code is Code.NOT_READY
        reasons[instance] = denied.value.reason
    assert reasons["halo-eu"] == (
        "halopsa connector 'halo-eu' is not ready: credentials expired; run `msplex connect halopsa --tenant acme`"
    )
    assert "has not answered yet" in reasons["halo-new"]
    assert "is not configured in tenant 'acme'" in reasons["gone"]
    admits = stage.admits(_call("tools/list"))
    assert admits is not None and admits(_target("halo-main", "halopsa", "vendor"))
    assert not admits(_target("halo-eu", "halopsa", "vendor"))
    unsubscribe = _call("resources/unsubscribe", {"uri": "x"}, target=_target("halo-eu", "halopsa", "vendor"))
    assert await stage(unsubscribe) is unsubscribe
    await state.close()


def _directory() -> Directory:
    directory = Directory()
    alpha = CustomerRecord("c1", "t1", "alpha", "Alpha", utcnow())
    other = CustomerRecord("c2", "t2", "beta-co", "Beta Co", utcnow())
    directory.apply(snapshot([("t1", "acme", True), ("t2", "beta", False)], customers=(alpha, other)))
    return directory


async def test_customer_resolution() -> None:
    stage = ResolveCustomer(_directory())

    def meta(slug: Any) -> dict[str, Any]:
        return {"name": "x", "_meta": {"msplex/customer": slug}}

    named = await stage(_call(params=meta("alpha")))
    assert named.customer is not None and named.customer.id == "c1"
    assert (await stage(_call())).customer is None  # a member without one acts for the whole tenant
    bound = Principal("token", "t1", "k2", "customer", customer_id="c1")
    assert (await stage(_call(principal=bound))).customer.id == "c1"  # type: ignore[union-attr]
    misbound = Principal("token", "t1", "k3", "customer", customer_id="c2")  # another tenant's customer
    cases = [
        (_call(params=meta("beta-co")), Code.INVALID_PARAMS, "no customer 'beta-co' in this tenant"),
        (_call(params=meta(7)), Code.INVALID_PARAMS, "must be a customer's slug"),
        (_call(params=meta("alpha"), principal=Principal("anonymous", None)), Code.FORBIDDEN, "anonymous"),
        (_call(params=meta("zeta"), principal=bound), Code.FORBIDDEN, "acts for customer 'alpha' only"),
        (_call(principal=misbound), Code.FORBIDDEN, "no longer exists in this tenant"),
    ]
    for call, code, why in cases:
        with pytest.raises(Denied) as denied:
            await stage(call)
        assert denied.value.stage is Stage.RESOLVE_CUSTOMER and denied.value.code is code and why in denied.value.reason


def test_the_snapshot_is_compiled_once_per_tenant_and_dropped_with_the_next_version() -> None:
    entitlements = Entitlements()
    first = snapshot([("t1", "acme", False)])
    entitlements.apply(first)
    assert entitlements.of("t1") is entitlements.of("t1")
    assert entitlements.of("nope") is None
    before = entitlements.of("t1")
    entitlements.apply(snapshot([("t1", "acme", False)], version=2))
    assert entitlements.of("t1") is not before


async def test_a_stream_may_not_subscribe_to_a_resource_of_a_connector_outside_the_plan() -> None:
    from dataclasses import replace

    from msplex.call import Viewer
    from msplex.store.records import UpstreamEntry
    from msplex.upstream import UpstreamSpec
    from support.gateway import free_port
    from support.inproc import start

    dead = f"http://127.0.0.1:{free_port()}/mcp"
    entries = [UpstreamEntry(n, UpstreamSpec("t1", n, "http", url=dead), True, NOW) for n in ("ev", "extra")]
    base = snapshot([("t1", "acme", False)], upstreams={"t1": entries})
    sub = _subscription("active")
    gateway = await start(
        replace(base, plans={PLAN.id: PLAN}, subscriptions={"t1": replace(sub, plan_id=PLAN.id)})  # type: ignore[arg-type]
    )
    heard: list[Event] = []
    gateway.gateway.listen(heard.append)
    try:
        call = _call(viewer=Viewer("member"))
        assert gateway.gateway.may_see_uri(call, "ev+file:///a")
        assert not gateway.gateway.may_see_uri(call, "extra+file:///a")
        assert heard == []
        suspended = replace(sub, plan_id=PLAN.id, status="suspended")
        gateway.gateway.apply(replace(base, version=2, plans={PLAN.id: PLAN}, subscriptions={"t1": suspended}))  # type: ignore[arg-type]
        assert {(e.tenant_id, e.kind) for e in heard} == {("t1", "tools"), ("t1", "prompts"), ("t1", "resources")}
        assert not gateway.gateway.may_see_uri(call, "ev+file:///a")
    finally:
        await gateway.close()


def test_a_plans_allowance_becomes_one_monthly_tenant_quota() -> None:
    from dataclasses import replace

    from msplex.entitlements import PLAN_QUOTA, plan_quota

    base = snapshot([("t1", "acme", False), ("t2", "beta", False)])
    unlimited = replace(PLAN, id="p2", calls_per_month=None)
    withs = replace(base, plans={PLAN.id: PLAN, "p2": unlimited}, subscriptions={"t1": _subscription("active")})
    (quota,) = plan_quota(withs, "t1")
    assert (quota.id, quota.name, quota.scope, quota.window, quota.limit, quota.overage) == (
        PLAN_QUOTA,
        "plan basic",
        "tenant",
        "month",
        1000,
        False,
    )
    assert plan_quota(withs, "t2") == ()  # no subscription
    moved = replace(withs, subscriptions={"t1": replace(_subscription("active"), plan_id="p2")})
    assert plan_quota(moved, "t1") == ()
