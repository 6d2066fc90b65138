"""Chain stages 3 to 7 through a real gateway process: each one's refusal names its stage and what to do,
reaches no connector, and the lists never show what a call would refuse.

Tenants (made here, so the session's ``acme`` stays untouched):

* ``ent``: upstreams ``ev`` (in plan ``basic``), ``extra`` (not in it) and ``flaky`` (in it; stopped by a
  test), customer ``alpha``; tenant ``entb`` has a customer ``beta-co`` (another tenant's slug).
* ``billing``: upstream ``ev`` on plan ``everything`` (``*``); its status changes test by test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from e2e_support import Deployment, eventually

from support.gateway import ServerProcess, jsonrpc_of, modern_request

CUSTOMER_META = "msplex/customer"


@dataclass
class Ent:
    deployment: Deployment
    member: str
    customer: str
    billing: str
    flaky: ServerProcess
    metered: str


@pytest.fixture(scope="module")
def ent(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ent]:
    flaky = ServerProcess.everything(tmp_path_factory.mktemp("flaky")).start()
    ev = deployment.ev.url
    try:
        out = deployment.gw.cli_batch(
            [
                ["plan", "create", "basic", "--connectors", "ev,flaky,halopsa", "--calls-per-month", "1000"],
                ["plan", "create", "everything", "--connectors", "*"],
                ["plan", "create", "small", "--connectors", "*", "--calls-per-month", "2"],
                ["tenant", "create", "metered"],
                ["tool", "enable", "*", "--tenant", "metered"],
                ["upstream", "add", "ev", "--tenant", "metered", "--url", ev],
                ["subscription", "set", "--tenant", "metered", "--plan", "small", "--status", "active"],
                ["tenant", "create", "ent"],
                ["tenant", "create", "entb"],
                ["tenant", "create", "billing"],
                ["tool", "enable", "*", "--tenant", "ent", "--kind", "all", "--audience", "admin,member,customer"],
                ["tool", "enable", "*", "--tenant", "billing", "--kind", "all"],
                ["upstream", "add", "ev", "--tenant", "ent", "--url", ev],
                ["upstream", "add", "extra", "--tenant", "ent", "--url", deployment.rich.url],
                ["upstream", "add", "flaky", "--tenant", "ent", "--url", flaky.url],
                ["upstream", "add", "ev", "--tenant", "billing", "--url", ev],
                ["customer", "create", "alpha", "--tenant", "ent"],
                ["customer", "create", "beta-co", "--tenant", "entb"],
                ["subscription", "set", "--tenant", "ent", "--plan", "basic", "--status", "active"],
                ["subscription", "set", "--tenant", "billing", "--plan", "everything", "--status", "active"],
                ["token", "create", "--tenant", "ent"],
                ["token", "create", "--tenant", "ent", "--role", "customer", "--customer", "alpha"],
                ["token", "create", "--tenant", "billing"],
                ["token", "create", "--tenant", "metered"],
            ]
        )
        member, customer, billing, metered = (o["stdout"].strip().splitlines()[-1] for o in out[-4:])
        deployment.gw.wait_accepts("billing", billing)
        yield Ent(deployment, member, customer, billing, flaky, metered)
    finally:
        flaky.stop()


async def _rpc(
    ent: Ent, tenant: str, token: str, method: str, params: dict[str, Any] | None = None, customer: str | None = None
) -> dict[str, Any]:
    name = (params or {}).get("name")
    headers, body = modern_request(method, params, token, name=name if method == "tools/call" else None)
    if customer is not None:
        body["params"]["_meta"][CUSTOMER_META] = customer
    async with httpx2.AsyncClient(timeout=30) as http:
        return jsonrpc_of(await http.post(ent.deployment.gw.url(tenant), json=body, headers=headers))


def _echo(text: str = "hi") -> dict[str, Any]:
    return {"name": "ev__echo", "arguments": {"text": text}}


async def _tools(ent: Ent, tenant: str, token: str) -> list[str]:
    listed = await _rpc(ent, tenant, token, "tools/list")
    assert "result" in listed, listed
    return [t["name"] for t in listed["result"]["tools"]]


def _refusal(answer: dict[str, Any], stage: str) -> str:
    assert "error" in answer, answer
    data = answer["error"]["data"]
    assert data["stage"] == stage, answer
    assert answer["error"]["message"].startswith(f"{stage}: ")
    reason: str = data["reason"]
    return reason


async def test_a_connector_outside_the_plan_is_refused_and_not_listed(ent: Ent) -> None:
    names = await _tools(ent, "ent", ent.member)
    assert "ev__echo" in names and not [n for n in names if n.startswith("extra__")]
    answer = await _rpc(ent, "ent", ent.member, "tools/call", {"name": "extra__weather", "arguments": {}})
    reason = _refusal(answer, "verify_entitlement")
    assert answer["error"]["code"] == -32030
    assert "upstream 'extra' is not part of plan 'basic'" in reason and "msplex plan update basic" in reason
    served = await _rpc(ent, "ent", ent.member, "tools/call", _echo("entitled"))
    assert served["result"]["content"][0]["text"] == "entitled"


async def test_tool_effective_agrees_with_the_list(ent: Ent) -> None:
    """The effective-tools function narrows by the plan as the chain does (and by what it could list now)."""
    listed = sorted(await _tools(ent, "ent", ent.member))
    as_member = ("--subject", "s", "--role", "member")
    _, out, _ = await ent.deployment.gw.acli("tool", "effective", "--tenant", "ent", *as_member)
    shown = sorted(line.split()[1] for line in out.splitlines()[1:] if line.startswith("tool "))
    assert shown == listed and "ev__echo" in shown
    assert "(connector 'extra' is not part of plan 'basic': its items are refused)" in out


async def test_the_customer_comes_from_the_identity_or_a_members_meta_and_never_crosses_tenants(ent: Ent) -> None:
    ok = await _rpc(ent, "ent", ent.member, "tools/call", _echo("for alpha"), customer="alpha")
    assert ok["result"]["content"][0]["text"] == "for alpha"
    own = await _rpc(ent, "ent", ent.customer, "tools/call", _echo("mine"))
    assert own["result"]["content"][0]["text"] == "mine"
    named = {c: await _rpc(ent, "ent", ent.member, "tools/call", _echo(), customer=c) for c in ("nobody", "beta-co")}
    unknown, foreign = (_refusal(answer, "resolve_customer") for answer in named.values())
    assert unknown.replace("nobody", "X") == foreign.replace("beta-co", "X")  # another tenant's is unknown here
    assert "no customer 'beta-co' in this tenant" in foreign
    bound = await _rpc(ent, "ent", ent.customer, "tools/call", _echo(), customer="beta-co")
    assert "acts for customer 'alpha' only" in _refusal(bound, "resolve_customer")
    assert bound["error"]["code"] == -32003


async def test_a_suspended_or_cancelled_subscription_is_refused_with_what_to_do(ent: Ent) -> None:
    gw = ent.deployment.gw
    try:
        for status, expected in (("suspended", "is suspended"), ("cancelled", "was cancelled")):
            await gw.acli("subscription", "set", "--tenant", "billing", "--status", status)

            async def refused(expected: str = expected) -> bool:
                answer = await _rpc(ent, "billing", ent.billing, "tools/call", _echo())
                return "error" in answer and expected in answer["error"]["data"]["reason"]

            await eventually(refused, within=5, what=f"a {status} subscription refused")
            reason = _refusal(await _rpc(ent, "billing", ent.billing, "tools/call", _echo()), "verify_subscription")
            assert "msplex subscription set --tenant billing" in reason
            listed = await _rpc(ent, "billing", ent.billing, "tools/list")
            assert expected in _refusal(listed, "verify_subscription")
    finally:
        await gw.acli("subscription", "set", "--tenant", "billing", "--status", "active")


async def test_past_due_is_served_during_its_grace_and_refused_after(ent: Ent) -> None:
    gw = ent.deployment.gw
    try:
        await gw.acli("subscription", "set", "--tenant", "billing", "--status", "past_due", "--grace", "0")

        async def refused() -> bool:
            return "error" in await _rpc(ent, "billing", ent.billing, "tools/call", _echo())

        await eventually(refused, within=5, what="a past_due subscription past its grace refused")
        reason = _refusal(await _rpc(ent, "billing", ent.billing, "tools/call", _echo()), "verify_subscription")
        assert "is past due and its grace period ended on" in reason and "settle the outstanding invoice" in reason
        await gw.acli("subscription", "set", "--tenant", "billing", "--grace", "7")

        async def served() -> bool:
            answer = await _rpc(ent, "billing", ent.billing, "tools/call", _echo("grace"))
            return "result" in answer

        await eventually(served, within=5, what="a past_due subscription within its grace served")
    finally:
        await gw.acli("subscription", "set", "--tenant", "billing", "--status", "active")


async def test_an_upstream_that_went_down_is_refused_as_not_ready_and_leaves_the_list(ent: Ent) -> None:
    assert "flaky__echo" in await _tools(ent, "ent", ent.member)
    ent.flaky.stop()
    call = {"name": "flaky__echo", "arguments": {"text": "x"}}
    first = await _rpc(ent, "ent", ent.member, "tools/call", call)  # the upstream fails: now it is unhealthy
    assert "error" in first

    async def not_ready() -> bool:
        answer = await _rpc(ent, "ent", ent.member, "tools/call", call)
        return "error" in answer and answer["error"].get("data", {}).get("stage") == "verify_readiness"

    await eventually(not_ready, within=10, what="the stopped upstream refused as not ready")
    answer = await _rpc(ent, "ent", ent.member, "tools/call", call)
    reason = _refusal(answer, "verify_readiness")
    assert answer["error"]["code"] == -32031
    assert reason.startswith("upstream 'flaky' is not ready: ") and "msplex tool list --tenant ent" in reason
    assert not [n for n in await _tools(ent, "ent", ent.member) if n.startswith("flaky__")]
    assert "ev__echo" in await _tools(ent, "ent", ent.member)


async def test_status_shows_each_instances_readiness(ent: Ent) -> None:
    async def reported() -> bool:
        doc = json.loads((await ent.deployment.gw.acli("status", "--json"))[1])
        states = {(r["tenant"], r["instance"]): r for r in doc["readiness"]}
        return states.get(("ent", "ev"), {}).get("state") == "ready"

    await eventually(reported, within=10, what="status --json reporting ent/ev ready")
    text = (await ent.deployment.gw.acli("status"))[1]
    assert "Connector ent/ev: ready" in text


async def test_the_plans_monthly_allowance_is_a_hard_tenant_quota_unless_it_allows_overage(ent: Ent) -> None:
    served = [await _rpc(ent, "metered", ent.metered, "tools/call", _echo(str(i))) for i in range(2)]
    assert [a["result"]["content"][0]["text"] for a in served] == ["0", "1"]
    reason = _refusal(await _rpc(ent, "metered", ent.metered, "tools/call", _echo()), "check_quota")
    assert reason.startswith("quota 'plan small' (2 calls per month for the tenant) is used up; it resets at ")
    assert "ev__echo" in await _tools(ent, "metered", ent.metered)  # lists are not counted
    await ent.deployment.gw.acli("plan", "update", "small", "--overage", "allowed")

    async def over() -> bool:
        return "result" in await _rpc(ent, "metered", ent.metered, "tools/call", _echo("over"))

    await eventually(over, within=5, what="a call past the allowance served as overage")
