"""``SharedState.admit`` and quota stage 9 on both backends: counters checked and counted as one atomic
step, so a hard quota of N admits exactly N of 50 racing calls, on one replica or two."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from msplex.call import Call, Principal, Target
from msplex.chain.stages.check_quota import CheckQuota
from msplex.errors import Code, Denied
from msplex.quota import Quotas, window_end
from msplex.state import Limit, SharedState
from msplex.store.models import utcnow
from msplex.store.records import QuotaRecord, TenantRecord

TENANT = TenantRecord("t-1", "acme", "Acme", False, utcnow())


async def test_a_hard_limit_admits_exactly_its_limit_of_50_racing_calls(
    state: SharedState, second: SharedState
) -> None:
    limits = [Limit("q:tenant", 1000, 60), Limit("q:tool", 7, 60)]
    results = await asyncio.gather(*(replica.admit(limits) for replica in (state, second) * 25))
    admitted = [r for r in results if r.refused is None]
    assert len(admitted) == 7
    assert sorted(r.counts[1] for r in admitted) == list(range(1, 8))
    assert {r.refused for r in results if r.refused is not None} == {1}
    assert await state.peek("q:tenant") == 7 and await second.peek("q:tool") == 7  # refused calls counted nothing


async def test_a_soft_limit_counts_past_its_limit(state: SharedState) -> None:
    limits = [Limit("q:soft", 2, 60, hard=False)]
    counts = [(await state.admit(limits)).counts[0] for _ in range(4)]
    assert counts == [1, 2, 3, 4]


async def test_counters_start_their_window_when_created(state: SharedState, second: SharedState) -> None:
    assert (await state.admit([Limit("q:window", 1, 0.3)])).refused is None
    assert (await second.admit([Limit("q:window", 1, 0.3)])).refused == 0
    await asyncio.sleep(0.4)
    assert (await second.admit([Limit("q:window", 1, 0.3)])).counts == (1,)


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


def _call(tool: str = "ev__peek", principal: str = "k1", customer: str | None = None) -> Call:
    target = Target("tool", tool, "ev", tool.split("__")[-1], None, "upstream", {"name": tool})  # type: ignore[arg-type]
    who = Principal("token", TENANT.id, principal, "customer" if customer else "member", customer_id=customer)
    call = Call("tools/call", {"name": tool, "arguments": {}}, 1, "modern", "2026-07-28", {}, _Peer())
    return call.learned(tenant=TENANT, principal=who, target=target)


def _quota(name: str, scope: str, limit: int, *, subject: str | None = None, overage: bool = False) -> QuotaRecord:
    return QuotaRecord(f"id-{name}", name, scope, subject, "day", limit, overage)  # type: ignore[arg-type]


def _stage(state: SharedState, *quotas: QuotaRecord) -> CheckQuota:
    prepared = Quotas(TENANT.id, quotas)
    return CheckQuota(lambda tenant_id: prepared if tenant_id == TENANT.id else None, state)


async def _outcomes(stage: CheckQuota, calls: list[Call]) -> list[Call | Denied]:
    async def one(call: Call) -> Call | Denied:
        try:
            return await stage(call)
        except Denied as denied:
            return denied

    return list(await asyncio.gather(*(one(c) for c in calls)))


async def test_a_hard_quota_admits_exactly_its_limit_of_50_concurrent_calls(
    state: SharedState, second: SharedState
) -> None:
    quota = _quota("daily", "tenant", 20)
    stages = [_stage(state, quota), _stage(second, quota)]  # two replicas
    outcomes = await asyncio.gather(*(_outcomes(stages[i % 2], [_call()]) for i in range(50)))
    flat = [o for batch in outcomes for o in batch]
    denied = [o for o in flat if isinstance(o, Denied)]
    assert len(flat) - len(denied) == 20 and len(denied) == 30
    resets = f"{window_end('day', datetime.now(UTC)):%Y-%m-%dT%H:%M:%SZ}"
    assert all(d.code is Code.QUOTA and d.data["stage"] == "check_quota" for d in denied)
    assert denied[0].data["quota"] == "daily" and denied[0].data["resets"] == resets
    assert "20 calls per day for the tenant" in denied[0].reason
    assert not any(isinstance(o, Call) and o.overage for o in flat)


async def test_an_overage_quota_lets_calls_through_flagged_past_its_limit(state: SharedState) -> None:
    stage = _stage(state, _quota("soft", "tenant", 3, overage=True))
    outcomes = await _outcomes(stage, [_call() for _ in range(5)])
    assert all(isinstance(o, Call) for o in outcomes)
    assert sorted(o.overage for o in outcomes if isinstance(o, Call)) == [False, False, False, True, True]


async def test_quotas_count_per_customer_principal_and_tool_as_scoped(state: SharedState) -> None:
    stage = _stage(
        state,
        _quota("per-customer", "customer", 1),
        _quota("alpha", "customer", 5, subject="c-alpha"),
        _quota("per-caller", "principal", 2, subject="token:k9"),
        _quota("wipes", "tool", 1, subject="ev__wipe*"),
    )
    first = await _outcomes(stage, [_call(customer="c-alpha"), _call(customer="c-beta"), _call(customer="c-alpha")])
    assert [type(o) for o in first] == [Call, Call, Denied]
    assert isinstance(first[2], Denied) and first[2].data["quota"] == "per-customer"
    callers = await _outcomes(stage, [_call(principal="k9") for _ in range(3)] + [_call(principal="k8")])
    assert [type(o) for o in callers] == [Call, Call, Denied, Call]
    wipes = await _outcomes(stage, [_call("ev__wipe"), _call("ev__wipe_all"), _call("ev__peek")])
    assert [type(o) for o in wipes] == [Call, Denied, Call]


async def test_a_tenant_without_quotas_and_untargeted_calls_cost_no_round_trip(state: SharedState) -> None:
    class NoState:
        async def admit(self, *args: Any) -> Any:
            raise AssertionError("no round trip expected")

    stage = CheckQuota(lambda tenant_id: Quotas(tenant_id), NoState())  # type: ignore[arg-type]
    call = _call()
    assert await stage(call) is call
    listing = Call("tools/list", {}, 1, "modern", "2026-07-28", {}, _Peer()).learned(tenant=TENANT)
    assert await _stage(state, _quota("daily", "tenant", 0))(listing) is listing


@pytest.mark.parametrize("method", ["prompts/get", "resources/read"])
async def test_calls_that_reach_a_connector_count_but_tool_quotas_only_count_tools(
    state: SharedState, method: str
) -> None:
    kind = "prompt" if method == "prompts/get" else "resource"
    target = Target(kind, "ev__x", "ev", "x", None, "upstream", {"name": "x"})  # type: ignore[arg-type]
    call = _call().learned(method=method, target=target)
    stage = _stage(state, _quota("tenant", "tenant", 1), _quota("tools", "tool", 0))
    assert await stage(call) is call
    with pytest.raises(Denied):
        await stage(call)


async def test_a_retry_naming_its_approval_request_is_not_counted_again(state: SharedState) -> None:
    stage = _stage(state, _quota("daily", "tenant", 1))
    assert isinstance((await _outcomes(stage, [_call()]))[0], Call)  # counted when it was held
    for named in ({"requestState": "msplex-approval1.sealed"}, {"_meta": {"msplex/approval": "a-1"}}):
        retry = _call().learned(params={"name": "ev__peek", "arguments": {}, **named})
        assert await stage(retry) is retry
    assert isinstance((await _outcomes(stage, [_call()]))[0], Denied)
