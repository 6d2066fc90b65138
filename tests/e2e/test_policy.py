"""Tool policy (stage 8) and quotas (stage 9) through a real gateway process, its CLI and raw HTTP.

Tenant ``pol`` has the ledger upstream ``led`` (``wipe`` destructive, ``peek`` and ``runs`` read-only,
``slow`` unannotated) and two rules: members may not call destructive tools, and a customer-bound
identity may name only its own customer in ``args.customer``. Tenant ``quo`` has the same upstream and
a hard quota of 10 ``led__peek`` calls (tried by 50 at once) a day and an overage quota of 1 ``led__runs`` call a day.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from e2e_support import eventually

from support.gateway import GatewayProcess, ServerProcess, jsonrpc_of, modern_request, start_all, stop_all

FORBIDDEN, QUOTA = -32003, -32007
TENANTS = ("pol", "quo")


@dataclass
class Setup:
    gw: GatewayProcess
    member: str
    admin: str
    alpha: str
    """A customer token of customer ``alpha``."""
    quo: str
    """A member of tenant ``quo``."""

    async def rpc(self, method: str, params: dict[str, Any], token: str, tenant: str = "pol") -> dict[str, Any]:
        headers, body = modern_request(method, params, token, params.get("name"))
        async with httpx2.AsyncClient(timeout=30) as http:
            return jsonrpc_of(await http.post(self.gw.url(tenant), json=body, headers=headers))

    async def call(self, tool: str, token: str, tenant: str = "pol", **args: Any) -> dict[str, Any]:
        return await self.rpc("tools/call", {"name": tool, "arguments": args}, token, tenant)

    async def tools(self, token: str) -> set[str]:
        return {t["name"] for t in (await self.rpc("tools/list", {}, token))["result"]["tools"]}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root: Path = tmp_path_factory.mktemp("policy")
    ledger = ServerProcess.ledger(root)
    gw = GatewayProcess(root / "home")
    try:
        ledger.launch()
        out = gw.cli_batch(
            [
                ["tenant", "create", "pol"],
                ["tenant", "create", "quo"],
                *(["tool", "enable", "*", "--tenant", t, "--audience", "admin,member,customer"] for t in TENANTS),
                ["customer", "create", "alpha", "--tenant", "pol"],
                *(["upstream", "add", "led", "--tenant", t, "--url", ledger.url] for t in ("pol", "quo")),
                ["policy", "add", "members-no-destructive", "--tenant", "pol", "--effect", "deny", "--audience",
                 "member", "--destructive", "--reason", "members may not run destructive tools"],
                ["policy", "add", "own-customer", "--tenant", "pol", "--effect", "deny", "--audience", "customer",
                 "--when", "has(args.customer) && args.customer != customer.slug", "--priority", "10"],
                ["quota", "set", "peeks", "--tenant", "quo", "--scope", "tool", "--tool", "led__peek", "--limit",
                 "10", "--window", "day"],
                ["quota", "set", "ledger-reads", "--tenant", "quo", "--scope", "tool", "--tool", "led__runs",
                 "--limit", "1", "--window", "day", "--overage"],
                ["token", "create", "--tenant", "pol", "--name", "member"],
                ["token", "create", "--tenant", "pol", "--name", "admin", "--role", "admin"],
                ["token", "create", "--tenant", "pol", "--role", "customer", "--customer", "alpha"],
                ["token", "create", "--tenant", "quo"],
            ]
        )  # fmt: skip
        tokens = [o["stdout"].strip().splitlines()[-1] for o in out if o["args"][:2] == ["token", "create"]]
        start_all(ledger, gw)
        yield Setup(gw, *tokens)
    finally:
        stop_all(gw, ledger)


def _denial(reply: dict[str, Any]) -> tuple[int, str | None, str | None]:
    error = reply.get("error") or {}
    data = error.get("data") or {}
    return error.get("code", 0), data.get("stage"), data.get("rule") or data.get("quota")


async def _ledger(setup: Setup) -> list[dict[str, Any]]:
    reply = await setup.call("led__runs", setup.member)
    return list(json.loads(reply["result"]["content"][0]["text"]))


async def test_a_member_calling_a_destructive_tool_is_denied_naming_the_rule(setup: Setup) -> None:
    before = await _ledger(setup)
    reply = await setup.call("led__wipe", setup.member, target="srv-1")
    assert _denial(reply) == (FORBIDDEN, "evaluate_policy", "members-no-destructive")
    message = reply["error"]["message"]
    assert "rule 'members-no-destructive'" in message and "members may not run destructive tools" in message
    assert await _ledger(setup) == before  # nothing reached the connector
    assert (await setup.call("led__peek", setup.member))["result"]["content"][0]["text"] == "peeked"


async def test_the_list_hides_what_the_policy_denies_and_effective_tools_agree(setup: Setup) -> None:
    listed = await setup.tools(setup.member)
    assert {"led__peek", "led__runs", "led__slow"} <= listed and not {"led__wipe", "led__wipe_ask"} & listed
    assert {"led__wipe", "led__wipe_ask"} <= await setup.tools(setup.admin)
    prefix = setup.member[:12]
    _, out, _ = await setup.gw.acli("tool", "effective", "--tenant", "pol", "--token-id", prefix)
    shown = {line.split()[1] for line in out.splitlines()[1:] if line.strip()}
    assert shown == listed
    async with httpx2.AsyncClient(base_url=setup.gw.base, timeout=10) as http:
        response = await http.get(
            "/admin/v1/tenants/pol/effective-tools",
            params={"token_id": prefix},
            headers={"Authorization": f"Bearer {setup.admin}"},
        )
    assert response.status_code == 200, response.text
    assert {i["name"] for i in response.json()["items"] if i["kind"] == "tool"} == listed


async def test_a_customer_bound_identity_may_pass_only_its_own_customer(setup: Setup) -> None:
    reply = await setup.call("led__peek", setup.alpha, customer="beta")
    assert _denial(reply) == (FORBIDDEN, "evaluate_policy", "own-customer")
    assert "result" in await setup.call("led__peek", setup.alpha, customer="alpha")
    assert "result" in await setup.call("led__peek", setup.alpha)
    assert "led__peek" in await setup.tools(setup.alpha)  # an argument condition cannot be decided at list time


async def test_a_read_only_tenant_runs_only_read_only_tools(setup: Setup) -> None:
    await setup.gw.acli("tenant", "read-only", "pol", "on")
    try:

        async def refused() -> bool:
            return _denial(await setup.call("led__slow", setup.admin, seconds=0))[2] == "tenant read-only"

        await eventually(refused, within=10, what="read-only mode reaching the gateway")
        assert "result" in await setup.call("led__peek", setup.admin)
        assert await setup.tools(setup.admin) == {"led__peek", "led__runs"}
        _, out, _ = await setup.gw.acli("policy", "test", "led__wipe", "--tenant", "pol", "--audience", "admin")
        assert "deciding rule: tenant read-only" in out
    finally:
        await setup.gw.acli("tenant", "read-only", "pol", "off")

    async def served() -> bool:
        return "result" in await setup.call("led__slow", setup.admin, seconds=0)

    await eventually(served, within=10, what="read-only mode switched off")


async def test_a_hard_quota_admits_exactly_its_limit_of_concurrent_calls(setup: Setup) -> None:
    replies = await asyncio.gather(*(setup.call("led__peek", setup.quo, "quo") for _ in range(50)))
    admitted = [r for r in replies if "result" in r]
    refused = [_denial(r) for r in replies if "error" in r]
    assert len(admitted) == 10
    assert refused == [(QUOTA, "check_quota", "peeks")] * 40
    assert "resets at" in next(r for r in replies if "error" in r)["error"]["message"]


async def test_an_overage_quota_lets_calls_through(setup: Setup) -> None:
    replies = [await setup.call("led__runs", setup.quo, "quo") for _ in range(3)]
    assert all("result" in r for r in replies)
