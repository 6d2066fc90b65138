"""The HaloPSA tools against the Halo fake, below the chain (``VendorInstance`` with the vault's OAuth auth).

What the gateway adds on top (listing, enabling, the chain, a client's session) is driven in
``test_halopsa_gateway.py``; here each Halo convention and each scoping rule is pinned one by one,
and every result is checked against the tool's own output schema (an MCP client validates it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from msplex.connectors.framework import InstanceConfig, NotReady, VendorInstance
from msplex.connectors.halopsa import VENDOR
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.halopsa import Application, HaloFake
from msplex.vault import LEEWAY, MemoryTokens, build_auth

SECRET = "halo-secret-9f8e7d6c"
CUSTOMERS = {"contoso": "11", "fabrikam": "12"}


@pytest.fixture
def fake() -> HaloFake:
    return HaloFake(
        applications=[
            Application("halo-client", SECRET),
            Application("reader", "reader-secret-1234", frozenset({"read:tickets", "read:customers"})),
        ]
    )


@pytest.fixture
def server(fake: HaloFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


class Halo:
    """One instance of the connector on the fake, and a way to call its tools."""

    def __init__(self, instance: VendorInstance) -> None:
        self.instance = instance

    async def call(self, tool: str, args: dict[str, Any] | None = None, customer: str | None = None) -> dict[str, Any]:
        result = await self.instance.call(tool, args or {}, customer=customer)
        if not result["isError"]:
            spec = VENDOR.tool(tool)
            assert spec is not None
            Draft202012Validator(spec.output_schema).validate(result["structuredContent"])
        return result

    async def ok(self, tool: str, args: dict[str, Any] | None = None, customer: str | None = None) -> Any:
        result = await self.call(tool, args, customer)
        assert result["isError"] is False, result["content"][0]["text"]
        return result["structuredContent"]

    async def refused(self, tool: str, args: dict[str, Any], customer: str | None = None) -> str:
        result = await self.call(tool, args, customer)
        assert result["isError"] is True, result
        return str(result["content"][0]["text"])


def _instance(url: str, client: httpx.AsyncClient, client_id: str = "halo-client", secret: str = SECRET,
              **settings: str) -> VendorInstance:  # fmt: skip
    config = InstanceConfig(base_url=url, settings={"client_id": client_id, "tenant_name": "msplex", **settings})
    auth = build_auth(VENDOR, config, {"client_secret": secret}, client, tokens=MemoryTokens())
    return VendorInstance(VENDOR, config, auth, client, tenant="acme", customers=CUSTOMERS)


@pytest.fixture
async def halo(server: Running) -> AsyncIterator[Halo]:
    async with httpx.AsyncClient() as client:
        yield Halo(_instance(server.url, client))


# Halo's conventions -------------------------------------------------------------------------------


async def test_paging_sends_page_size_with_page_no_and_reaches_the_second_page(halo: Halo, fake: HaloFake) -> None:
    first = await halo.ok("search_tickets", {"client_id": 11, "page_size": 50})
    assert len(first["items"]) == 50 and first["has_more"] is True and first["next_page"] == 2 and first["total"] == 60
    second = await halo.ok("search_tickets", {"client_id": 11, "page_size": 50, "page": 2})
    assert len(second["items"]) == 10 and second["has_more"] is False
    assert not {t["id"] for t in first["items"]} & {t["id"] for t in second["items"]}
    for request in fake.api_requests("/api/Tickets"):
        assert request.param("pageinate") == "true" and request.param("page_no") and request.param("page_size")


async def test_the_token_request_is_halos_form_with_tenant_and_scope(halo: Halo, fake: HaloFake) -> None:
    await halo.ok("list_statuses")
    token_request = next(r for r in fake.requests if r.path == "/auth/token")
    assert dict(token_request.query) == {"tenant": "msplex"}
    assert fake.tokens_issued == 1


async def test_writes_post_one_element_arrays_and_answer_the_record(halo: Halo, fake: HaloFake) -> None:
    created = await halo.ok("create_ticket", {"summary": "Toner low", "client_id": 12, "site_id": 201})
    assert created["client_name"] == "Fabrikam Inc" and created["summary"] == "Toner low"
    updated = await halo.ok("update_ticket", {"id": created["id"], "status_id": 2, "agent_id": 2})
    assert updated["status_id"] == 2 and updated["agent_id"] == 2
    posts = [r for r in fake.api_requests("/api/Tickets") if r.method == "POST"]
    assert [type(r.body) for r in posts] == [list, list] and posts[1].body == [
        {"id": created["id"], "status_id": 2, "agent_id": 2}
    ]


async def test_add_action_defaults_to_a_hidden_private_note_and_books_time(halo: Halo, fake: HaloFake) -> None:
    action = await halo.ok("add_action", {"ticket_id": 5003, "note": "Checked the toner", "time_taken": 0.25})
    assert action["hiddenfromuser"] is True and action["outcome"] == "Private Note"
    sent = fake.api_requests("/api/Actions")[-1].body
    assert sent == [{"ticket_id": 5003, "note": "Checked the toner", "outcome": "Private Note", "hiddenfromuser": True,
                     "sendemail": False, "timetaken": 0.25, "nonbilltime": 0.0}]  # fmt: skip
    entries = await halo.ok("list_time_entries", {"ticket_id": 5003})
    assert [e["timetaken"] for e in entries["items"]] == [0.25]
    ticket = await halo.ok("get_ticket", {"id": 5003})
    assert [a["note"] for a in ticket["actions"]] == ["Checked the toner"] and ticket["actions_more"] is None


async def test_lookups_and_directory_reads(halo: Halo) -> None:
    outcomes = await halo.ok("list_outcomes")
    assert {"Private Note", "Email User"} <= {o["outcome"] for o in outcomes["items"]}
    assert (await halo.ok("list_categories"))["total"] == 5
    assets = await halo.ok("list_assets", {"search": "10.1.1.5"})
    assert [a["inventory_number"] for a in assets["items"]] == ["CON-SRV-01"]
    assert (await halo.ok("get_kb_article", {"id": 2}))["name"] == "Onboarding checklist"
    timesheet = await halo.ok("get_timesheet", {"agent_id": 1, "start_date": "2026-10-01", "end_date": "2026-10-31"})
    assert timesheet["total"] >= 1 and all(day["agent_id"] == 1 for day in timesheet["items"])
    invoice = await halo.ok("get_invoice", {"id": 8101})
    assert invoice["lines"] and invoice["client_id"] == 12


async def test_halos_varied_error_bodies_become_readable_tool_errors(halo: Halo, fake: HaloFake) -> None:
    assert "Site is not valid for the client" in await halo.refused(
        "create_ticket", {"summary": "x", "client_id": 11, "site_id": 201}
    )
    assert await halo.refused("get_ticket", {"id": 999999}) == "ticket 999999 not found"
    fake.fail_next(500, {"ClassName": "System.NullReferenceException", "Message": "Object reference not set"})
    assert "HaloPSA failed (500)" in await halo.refused("list_statuses", {})
    assert "client_id is required" in await halo.refused("create_ticket", {"summary": "x"})
    assert "invalid arguments" in await halo.refused("add_action", {"ticket_id": 5001})


# limits and tokens ------------------------------------------------------------------------------------


async def test_a_429_without_retry_after_is_retried_after_halos_backoff(server: Running, fake: HaloFake) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient() as client:
        config = InstanceConfig(base_url=server.url, settings={"client_id": "halo-client", "tenant_name": "msplex"})
        auth = build_auth(VENDOR, config, {"client_secret": SECRET}, client)
        instance = VendorInstance(VENDOR, config, auth, client, tenant="acme", sleep=sleep)
        fake.throttle_next(2)
        result = await instance.call("list_statuses", {})
    assert result["isError"] is False
    assert slept == [5.0, 10.0]  # no Retry-After from Halo: 5 s, doubling


async def test_an_expired_token_is_refreshed_exactly_once_under_20_concurrent_calls(halo: Halo, fake: HaloFake) -> None:
    await halo.ok("list_statuses")
    fake.expire_tokens()
    results = await asyncio.gather(*(halo.call("get_ticket", {"id": 5001 + i}) for i in range(20)))
    assert all(r["isError"] is False for r in results)
    assert fake.tokens_issued == 2


async def test_a_token_near_its_expiry_is_renewed_before_use_once_for_20_concurrent_calls(
    halo: Halo, fake: HaloFake
) -> None:
    fake.token_lifetime = LEEWAY - 5  # still valid at Halo, but inside the renewal leeway from the start
    await halo.ok("list_statuses")
    assert fake.tokens_issued == 1
    fake.token_lifetime = 3600  # the renewed token stays fresh for the whole burst, however slow the machine
    results = await asyncio.gather(*(halo.call("get_ticket", {"id": 5001 + i}) for i in range(20)))
    assert all(r["isError"] is False for r in results)
    assert fake.tokens_issued == 2
    assert all(r.client_id == "halo-client" for r in fake.api_requests())  # no request went out with a stale token
    grants = [i for i, r in enumerate(fake.requests) if r.path == "/auth/token"]
    burst = [i for i, r in enumerate(fake.requests) if r.path.startswith("/api/") and r.path != "/api/Status"]
    assert burst and min(burst) > grants[1]  # the near-expiry token was renewed before any call of the burst used it


async def test_bad_credentials_fail_validation_without_the_secret(server: Running) -> None:
    async with httpx.AsyncClient() as client:
        instance = _instance(server.url, client, secret="wrong-secret-5555")
        with pytest.raises(NotReady) as caught:
            await instance.validate()
    assert "rejected the client credentials" in caught.value.message and "wrong-secret" not in caught.value.message
    assert instance.readiness.ready is False


async def test_a_read_only_application_cannot_write_and_says_which_scope(server: Running) -> None:
    async with httpx.AsyncClient() as client:
        halo = Halo(_instance(server.url, client, "reader", "reader-secret-1234", scope="read:tickets read:customers"))
        await halo.instance.validate()
        message = await halo.refused("create_ticket", {"summary": "x", "client_id": 11})
    assert "refused POST" in message and "scope" in message


# customer scoping -----------------------------------------------------------------------------------------


async def test_a_bound_call_reads_only_its_clients_records(halo: Halo, fake: HaloFake) -> None:
    tickets = await halo.ok("search_tickets", {"page_size": 100}, customer="fabrikam")
    assert {t["client_id"] for t in tickets["items"]} == {12} and tickets["total"] == 7
    assert fake.api_requests("/api/Tickets")[-1].param("client_id") == "12"  # the filter is injected
    clients = await halo.ok("list_clients", {}, customer="fabrikam")
    assert [c["id"] for c in clients["items"]] == [12]
    for tool in ("list_sites", "list_users", "list_assets", "list_contracts", "list_invoices", "list_time_entries"):
        page = await halo.ok(tool, {"page_size": 100}, customer="fabrikam")
        assert page["items"] and {r["client_id"] for r in page["items"]} == {12}, tool


async def test_a_bound_call_sees_only_what_the_clients_end_users_see(halo: Halo) -> None:
    whole = await halo.ok("get_ticket", {"id": 6001})
    assert [a["hiddenfromuser"] for a in whole["actions"]] == [False, True] and "internal_hidden" not in whole
    bound = await halo.ok("get_ticket", {"id": 6001}, customer="fabrikam")
    assert [a["note"] for a in bound["actions"]] == ["Looking into it."] and bound["internal_hidden"] == 1
    entries = await halo.ok("list_time_entries", {}, customer="fabrikam")
    assert entries["items"] and all(e["subject"] is None for e in entries["items"])


async def test_a_bound_call_cannot_name_another_clients_records(halo: Halo) -> None:
    for tool, args in [
        ("search_tickets", {"client_id": 11}),
        ("get_ticket", {"id": 5001}),
        ("get_client", {"id": 11}),
        ("get_user", {"id": 1001}),
        ("get_asset", {"id": 3001}),
        ("get_contract", {"id": 7001}),
        ("get_invoice", {"id": 8001}),
        ("list_sites", {"client_id": 11}),
        ("list_time_entries", {"client_id": 11}),
    ]:
        assert "not found" in await halo.refused(tool, args, customer="fabrikam"), tool
    # a foreign id reads exactly like a missing one
    foreign = await halo.refused("get_ticket", {"id": 5001}, "fabrikam")
    missing = await halo.refused("get_ticket", {"id": 999999}, "fabrikam")
    assert foreign.replace("5001", "N") == missing.replace("999999", "N")
    assert "unavailable to a call bound to a customer" in await halo.refused("search_kb", {}, "fabrikam")
    assert "unavailable" in await halo.refused(
        "get_timesheet", {"agent_id": 1, "start_date": "2026-10-01", "end_date": "2026-10-31"}, "fabrikam"
    )


async def test_a_bound_call_cannot_write_another_clients_records(halo: Halo, fake: HaloFake) -> None:
    before = len(fake.store["tickets"]), len(fake.store["actions"])
    for tool, args in [
        ("update_ticket", {"id": 5001, "status_id": 9}),
        ("add_action", {"ticket_id": 5001, "note": "hello", "hidden_from_user": False}),
        ("create_ticket", {"summary": "x", "client_id": 11}),
        ("create_ticket", {"summary": "x", "site_id": 101}),
        ("update_ticket", {"id": 6001, "user_id": 1001}),
    ]:
        assert "not found" in await halo.refused(tool, args, customer="fabrikam"), (tool, args)
    assert not [r for r in fake.api_requests() if r.method == "POST"]
    assert (len(fake.store["tickets"]), len(fake.store["actions"])) == before
    assert fake.store["tickets"][5001]["status_id"] == 1
    own = await halo.ok("create_ticket", {"summary": "Own ticket", "site_id": 201}, customer="fabrikam")
    assert own["client_id"] == 12


async def test_an_unmapped_customer_is_refused_before_any_vendor_request(halo: Halo, fake: HaloFake) -> None:
    assert "msplex customer map" in await halo.refused("list_statuses", {}, customer="northwind")
    assert fake.requests == []


# declarations ------------------------------------------------------------------------------------------------


def test_every_tool_declares_schemas_and_honest_hints() -> None:
    writes = {"create_ticket", "update_ticket", "add_action"}
    for tool in VENDOR.tools:
        definition = tool.definition("halopsa")
        Draft202012Validator.check_schema(definition["inputSchema"])
        Draft202012Validator.check_schema(definition["outputSchema"])
        hints = definition["annotations"]
        assert hints["readOnlyHint"] is (tool.name not in writes), tool.name
        assert hints["destructiveHint"] is False and hints["openWorldHint"] is True
        assert definition["description"] and definition["inputSchema"]["additionalProperties"] is False
        assert ("clientVisible" in definition["_meta"]["msplex/effects"]) is (tool.name in writes)


def test_the_connector_page_names_every_tool() -> None:
    page = (Path(__file__).resolve().parents[3] / "docs" / "connectors" / "halopsa.md").read_text()
    assert [t.name for t in VENDOR.tools if f"`{t.name}`" not in page] == []


def test_add_action_says_when_it_reaches_the_client_or_an_invoice() -> None:
    effects = VENDOR.tool("add_action").effects  # type: ignore[union-attr]
    assert effects.of({"ticket_id": 1, "note": "n"}) == frozenset()
    assert effects.of({"ticket_id": 1, "note": "n", "hidden_from_user": False}) == {"clientVisible"}
    assert effects.of({"ticket_id": 1, "note": "n", "send_email": True}) == {"clientVisible"}
    assert effects.of({"ticket_id": 1, "note": "n", "email_to": "a@b.example"}) == {"clientVisible"}
    assert effects.of({"ticket_id": 1, "note": "n", "time_taken": 1.5}) == {"billable"}
    assert effects.of({"ticket_id": 1, "note": "n", "time_taken": 0}) == frozenset()


async def test_an_error_body_echoing_the_credentials_is_scrubbed(halo: Halo, fake: HaloFake) -> None:
    await halo.ok("list_statuses")
    (access,) = fake.live_tokens()
    fake.fail_next(400, {"ClassName": "HaloApiException", "Message": f"token {access} / secret {SECRET} refused"})
    message = await halo.refused("list_statuses", {})
    assert "refused" in message and access not in message and SECRET not in message
