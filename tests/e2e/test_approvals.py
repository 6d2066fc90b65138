"""Approvals through a real gateway process and real MCP clients, in each protocol era.

Tenant ``appr`` has upstream ``led`` (``tests/fixtures/upstreams/ledger.py``), whose tools
annotated ``destructiveHint: true`` need an approval by default and whose ledger (``led__runs``)
shows every run with its arguments. A member token calls; admin tokens decide through the admin
API (or the CLI). Each test watches the ledger: an approved call runs once, with the arguments it
was approved with, and a refused one never runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
from e2e_support import eventually, text_of
from mcp.shared.exceptions import MCPError

from support.gateway import GatewayProcess, ServerProcess, connect, start_all, stop_all

APPROVAL = -32006
META = "msplex/approval"
ARGS = {"target": "srv-1", "password": "hunter2"}


@dataclass
class Setup:
    gw: GatewayProcess
    caller: str
    """A member's token: the one who asks."""
    other: str
    """Another member of the same tenant."""
    approver: str
    """An admin's token."""
    admin_caller: str
    """An admin who asks (and may not approve its own request)."""
    beta: str
    """A token of another tenant, which has the same upstream."""

    @property
    def url(self) -> str:
        return self.gw.url("appr")

    async def admin(self, method: str, path: str, token: str, body: Any = None) -> httpx2.Response:
        async with httpx2.AsyncClient(base_url=self.gw.base, timeout=10) as http:
            headers = {"Authorization": f"Bearer {token}"}
            return await http.request(method, f"/admin/v1/tenants/appr/approvals{path}", headers=headers, json=body)

    async def pending(self, name: str = "led__wipe") -> dict[str, Any]:
        """The one pending request for ``name`` (waits for it to appear)."""
        found: list[dict[str, Any]] = []

        async def appeared() -> bool:
            listed = (await self.admin("GET", "", self.approver)).json()
            found[:] = [r for r in listed if r["name"] == name]
            return len(found) == 1

        await eventually(appeared, within=10, what=f"a pending approval request for {name}")
        return found[0]

    async def approve(self, approval_id: str, token: str | None = None, reason: str | None = None) -> httpx2.Response:
        return await self.admin("POST", f"/{approval_id}/approve", token or self.approver, {"reason": reason})


def _tokens(out: list[dict[str, Any]]) -> list[str]:
    return [o["stdout"].strip().splitlines()[-1] for o in out if o["args"][:2] == ["token", "create"]]


def _setup(gw: GatewayProcess, ledger: ServerProcess) -> list[str]:
    out = gw.cli_batch(
        [
            ["tenant", "create", "appr"],
            ["tenant", "create", "beta"],
            *(["tool", "enable", "*", "--tenant", t, "--kind", "all"] for t in ("appr", "beta")),
            ["upstream", "add", "led", "--tenant", "appr", "--url", ledger.url],
            ["upstream", "add", "led", "--tenant", "beta", "--url", ledger.url],
            ["token", "create", "--tenant", "appr", "--name", "caller"],
            ["token", "create", "--tenant", "appr", "--name", "other"],
            ["token", "create", "--tenant", "appr", "--name", "approver", "--role", "admin"],
            ["token", "create", "--tenant", "appr", "--name", "admin-caller", "--role", "admin"],
            ["token", "create", "--tenant", "beta"],
        ]
    )
    return _tokens(out)


@contextlib.contextmanager
def deployment(root: Path, env: dict[str, str | None]) -> Iterator[Setup]:
    """A gateway (with ``env``) and the ledger upstream, set up as the module docstring says."""
    ledger = ServerProcess.ledger(root)
    gw = GatewayProcess(root / "home", env=env)
    try:
        ledger.launch()
        tokens = _setup(gw, ledger)
        start_all(ledger, gw)
        yield Setup(gw, *tokens)
    finally:
        stop_all(gw, ledger)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with deployment(tmp_path_factory.mktemp("approvals"), {"MSPLEX_APPROVAL_WAIT_SECONDS": "8"}) as started:
        yield started


async def _runs(setup: Setup) -> list[dict[str, Any]]:
    async with connect(setup.url, setup.caller, "2026-07-28") as client:
        return list(json.loads(text_of(await client.call_tool("led__runs", {}))))


def _error(failure: pytest.ExceptionInfo[MCPError]) -> tuple[int, str]:
    return failure.value.error.code, failure.value.error.message


async def test_a_modern_client_is_held_then_runs_the_approved_call_once(setup: Setup) -> None:
    """2026-07-28, driven by hand: an ``InputRequiredResult`` with only a ``requestState``; a retry while
    pending waits and is answered the same way; once approved the retry runs it; a replay is refused."""
    before = len(await _runs(setup))
    args = {**ARGS, "target": "modern-1"}
    async with connect(setup.url, setup.caller, "2026-07-28") as client:
        await client.list_tools()
        held = await client.session.call_tool("led__wipe", args, allow_input_required=True)
        assert isinstance(held, types.InputRequiredResult) and held.request_state and not held.input_requests
        request = await setup.pending()
        assert request["arguments"] == {"target": "modern-1", "password": "«redacted»"}
        assert request["status"] == "pending" and request["requester"].startswith("token:")
        assert "hunter2" not in (await setup.admin("GET", f"/{request['id']}", setup.approver)).text
        assert len(await _runs(setup)) == before

        approved = await setup.approve(request["id"], reason="change 42")
        assert approved.status_code == 200, approved.text
        assert approved.json()["decided_by"].startswith("token:") and approved.json()["reason"] == "change 42"
        done = await client.session.call_tool(
            "led__wipe", args, request_state=held.request_state, allow_input_required=True
        )
        assert isinstance(done, types.CallToolResult) and text_of(done) == "wiped modern-1"
        with pytest.raises(MCPError) as replay:
            await client.session.call_tool(
                "led__wipe", args, request_state=held.request_state, allow_input_required=True
            )
        assert _error(replay)[0] == APPROVAL and "already used" in _error(replay)[1]
    runs = await _runs(setup)
    assert runs[before:] == [{"tool": "wipe", "args": args}]
    shown = (await setup.admin("GET", f"/{request['id']}", setup.approver)).json()
    assert shown["status"] == "executed" and shown["executed_at"]


async def test_the_sdk_client_retries_by_itself_until_the_approval_arrives(setup: Setup) -> None:
    before = len(await _runs(setup))
    args = {**ARGS, "target": "modern-2"}
    async with connect(setup.url, setup.caller, "2026-07-28") as client:
        call = asyncio.ensure_future(client.call_tool("led__wipe", args))
        request = await setup.pending()
        assert not call.done()
        assert (await setup.approve(request["id"])).status_code == 200
        result = await asyncio.wait_for(call, 30)
    assert text_of(result) == "wiped modern-2"
    assert (await _runs(setup))[before:] == [{"tool": "wipe", "args": args}]


async def test_a_legacy_client_with_elicitation_confirms_and_waits_for_the_cli_approval(setup: Setup) -> None:
    asked: list[str] = []

    async def confirm(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={})

    before = len(await _runs(setup))
    args = {**ARGS, "target": "legacy-1"}
    async with connect(setup.url, setup.caller, "legacy", elicitation_callback=confirm) as client:
        call = asyncio.ensure_future(client.call_tool("led__wipe", args))
        request = await setup.pending()
        await setup.gw.acli("approvals", "approve", "--tenant", "appr", request["id"], "--reason", "ok by ops")
        result = await asyncio.wait_for(call, 30)
    assert text_of(result) == "wiped legacy-1"
    assert len(asked) == 1 and request["id"] in asked[0]
    assert (await _runs(setup))[before:] == [{"tool": "wipe", "args": args}]
    shown = setup.gw.cli("approvals", "show", "--tenant", "appr", request["id"]).stdout
    assert "executed" in shown and "cli:" in shown and "ok by ops" in shown and "hunter2" not in shown


async def test_declining_the_confirmation_withdraws_the_request(setup: Setup) -> None:
    async def decline(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    before = len(await _runs(setup))
    async with connect(setup.url, setup.caller, "legacy", elicitation_callback=decline) as client:
        result = await client.call_tool("led__wipe", {**ARGS, "target": "declined"})
    assert result.is_error and "withdrew" in text_of(result)
    request_id = (result.meta or {})[META]["id"]
    shown = (await setup.admin("GET", f"/{request_id}", setup.approver)).json()
    assert shown["status"] == "withdrawn"
    assert (await setup.approve(request_id)).status_code == 409
    assert len(await _runs(setup)) == before


async def test_a_client_that_cannot_wait_is_told_how_to_retry_and_runs_once(setup: Setup) -> None:
    before = len(await _runs(setup))
    args = {**ARGS, "target": "plain-1"}
    async with connect(setup.url, setup.caller, "legacy") as client:
        held = await client.call_tool("led__wipe", args)
        assert held.is_error
        approval = (held.meta or {})[META]
        assert approval["status"] == "pending" and approval["id"] in text_of(held) and META in text_of(held)
        assert (await setup.approve(approval["id"])).status_code == 200
        with pytest.raises(MCPError) as other_args:
            await client.call_tool("led__wipe", {**args, "target": "elsewhere"}, meta={META: approval["id"]})
        assert "arguments differ" in _error(other_args)[1]
        done = await client.call_tool("led__wipe", args, meta={META: approval["id"]})
        assert not done.is_error and text_of(done) == "wiped plain-1"
        with pytest.raises(MCPError) as again:
            await client.call_tool("led__wipe", args, meta={META: approval["id"]})
        assert _error(again)[0] == APPROVAL and "already used" in _error(again)[1]
    assert (await _runs(setup))[before:] == [{"tool": "wipe", "args": args}]


async def test_a_denied_request_never_runs_and_its_caller_learns_why(setup: Setup) -> None:
    before = len(await _runs(setup))
    async with connect(setup.url, setup.caller, "legacy") as client:
        held = await client.call_tool("led__wipe", ARGS)
        approval_id = (held.meta or {})[META]["id"]
        denied = await setup.admin("POST", f"/{approval_id}/deny", setup.approver, {"reason": "wrong server"})
        assert denied.status_code == 200 and denied.json()["status"] == "denied"
        assert (await setup.approve(approval_id)).status_code == 409  # decided once
        with pytest.raises(MCPError) as refused:
            await client.call_tool("led__wipe", ARGS, meta={META: approval_id})
    code, message = _error(refused)
    assert code == APPROVAL and "denied by token:" in message and "wrong server" in message
    assert len(await _runs(setup)) == before


async def test_a_principal_cannot_approve_its_own_request(setup: Setup) -> None:
    async with connect(setup.url, setup.admin_caller, "legacy") as client:
        held = await client.call_tool("led__wipe", ARGS)
    approval_id = (held.meta or {})[META]["id"]
    own = await setup.approve(approval_id, token=setup.admin_caller)
    assert own.status_code == 403 and "its own request" in own.json()["detail"]
    shown = await setup.admin("GET", f"/{approval_id}", setup.approver)
    assert shown.json()["status"] == "pending"
    assert (await setup.admin("POST", f"/{approval_id}/deny", setup.approver)).json()["status"] == "denied"


async def test_nobody_else_can_use_a_request_not_even_of_the_same_tenant(setup: Setup) -> None:
    """Another member, and another tenant's caller with the same upstream, get what a missing request gets;
    another tenant's ``requestState`` does not open."""
    async with connect(setup.url, setup.caller, "2026-07-28") as client:
        await client.list_tools()
        held = await client.session.call_tool("led__wipe", ARGS, allow_input_required=True)
    assert isinstance(held, types.InputRequiredResult)
    request = await setup.pending()
    await setup.approve(request["id"])
    before = len(await _runs(setup))
    async with connect(setup.url, setup.other, "legacy") as client:
        with pytest.raises(MCPError) as other_member:
            await client.call_tool("led__wipe", ARGS, meta={META: request["id"]})
        with pytest.raises(MCPError) as missing:
            await client.call_tool("led__wipe", ARGS, meta={META: "no-such-request"})
    assert _error(other_member)[1] == _error(missing)[1].replace("no-such-request", request["id"])
    async with connect(setup.gw.url("beta"), setup.beta, "2026-07-28") as client:
        await client.list_tools()
        with pytest.raises(MCPError) as foreign_state:
            await client.session.call_tool(
                "led__wipe", ARGS, request_state=held.request_state, allow_input_required=True
            )
        with pytest.raises(MCPError) as foreign_id:
            await client.session.call_tool("led__wipe", ARGS, meta={META: request["id"]}, allow_input_required=True)
    assert _error(foreign_state) == (types.INVALID_PARAMS, "Invalid or expired requestState")
    assert "no approval request" in _error(foreign_id)[1]
    assert len(await _runs(setup)) == before
    for token in (setup.beta,):
        listed = await setup.admin("GET", "?status=all", token)
        assert listed.status_code in (401, 403, 404)


async def test_racing_retries_of_one_approval_run_it_once(setup: Setup) -> None:
    async with connect(setup.url, setup.caller, "legacy") as client:
        held = await client.call_tool("led__wipe", {**ARGS, "target": "race"})
    approval_id = (held.meta or {})[META]["id"]
    await setup.approve(approval_id)
    before = len(await _runs(setup))
    outcomes = await _race(setup.url, setup.caller, approval_id, {**ARGS, "target": "race"}, tries=8)
    assert outcomes.count("wiped race") == 1 and len(outcomes) == 8, outcomes
    assert all("already used" in o for o in outcomes if o != "wiped race"), outcomes
    assert (await _runs(setup))[before:] == [{"tool": "wipe", "args": {**ARGS, "target": "race"}}]


async def _race(url: str, token: str, approval_id: str, args: dict[str, Any], tries: int) -> list[str]:
    """``tries`` legacy clients retry the same approved call at once; each outcome's text."""

    async def one(which: int) -> str:
        async with connect(url, token, "legacy") as client:
            try:
                return text_of(await client.call_tool("led__wipe", args, meta={META: approval_id}))
            except MCPError as exc:
                return exc.error.message

    return list(await asyncio.gather(*(one(i) for i in range(tries))))


async def test_an_approved_call_whose_upstream_asks_for_input_continues_once(setup: Setup) -> None:
    """2026-07-28 client: the approval round, then the upstream's own input round (wrapped in a single-use
    reference), then the result; the SDK drives both."""
    answered: list[str] = []

    async def sure(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        answered.append(params.message)
        return types.ElicitResult(action="accept", content={"sure": True})

    before = len(await _runs(setup))
    async with connect(setup.url, setup.caller, "2026-07-28", elicitation_callback=sure) as client:
        call = asyncio.ensure_future(client.call_tool("led__wipe_ask", ARGS))
        request = await setup.pending("led__wipe_ask")
        await setup.approve(request["id"])
        result = await asyncio.wait_for(call, 30)
    assert text_of(result) == "wiped srv-1 after accept" and answered == ["Sure?"]
    assert (await _runs(setup))[before:] == [{"tool": "wipe_ask", "args": ARGS, "action": "accept"}]


async def test_a_read_only_tool_needs_no_approval(setup: Setup) -> None:
    async with connect(setup.url, setup.caller, "legacy") as client:
        assert text_of(await client.call_tool("led__peek", {})) == "peeked"


async def test_a_held_request_survives_a_gateway_restart(tmp_path: Path) -> None:
    with deployment(tmp_path, {}) as setup:
        gw = setup.gw
        async with connect(setup.url, setup.caller, "legacy") as client:
            held = await client.call_tool("led__wipe", ARGS)
        approval_id = (held.meta or {})[META]["id"]
        gw.stop()
        gw.start()
        await gw.acli("approvals", "approve", "--tenant", "appr", approval_id)
        async with connect(setup.url, setup.caller, "legacy") as client:
            done = await client.call_tool("led__wipe", ARGS, meta={META: approval_id})
        assert text_of(done) == "wiped srv-1"
        assert await _runs(setup) == [{"tool": "wipe", "args": ARGS}]


async def test_an_expired_request_can_be_neither_approved_nor_run(tmp_path: Path) -> None:
    with deployment(tmp_path, {"MSPLEX_APPROVAL_TTL_SECONDS": "3"}) as setup:
        async with connect(setup.url, setup.caller, "legacy") as client:
            undecided = (await client.call_tool("led__wipe", ARGS)).meta or {}
            approved = (await client.call_tool("led__wipe", {**ARGS, "target": "late"})).meta or {}
            assert (await setup.approve(approved[META]["id"])).status_code == 200
            await asyncio.sleep(3.2)  # both expire
            late = await setup.approve(undecided[META]["id"])
            assert late.status_code == 409 and "expired" in late.json()["detail"]
            with pytest.raises(MCPError) as refused:
                await client.call_tool("led__wipe", {**ARGS, "target": "late"}, meta={META: approved[META]["id"]})
        code, message = _error(refused)
        assert code == APPROVAL and "expired" in message and "ask for a new approval" in message
        listed = (await setup.admin("GET", "?status=expired", setup.approver)).json()
        assert {r["id"] for r in listed} == {undecided[META]["id"], approved[META]["id"]}
        assert await _runs(setup) == []
