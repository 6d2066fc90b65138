"""NinjaOne with a person's access (``ninjaone-user``): connected without a live check, authorized with the
authorization code (the fake's ``authorize`` stands in for the browser consent), then served by the gateway
with the refresh token from the vault: ``run_script``, which NinjaOne refuses to client-credentials
tokens, runs once approved, and an expired token is renewed with the rotating refresh token, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from msplex.connectors.framework.registry import vendor
from msplex.connectors.manage import begin_authorization, connect, finish_authorization
from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.ninjaone import NinjaOneFake
from msplex.store import Store
from msplex.store.connectors import StoredToken
from msplex.store.records import ItemRuleRecord, TokenEntry
from support.inproc import InProcess, snapshot, start
from support.mcp_tools import approval_store, approved_call, approving, raw_call

NAME = "ninja-tech"


@pytest.fixture
def fake() -> NinjaOneFake:
    return NinjaOneFake()


@pytest.fixture
def ninja(fake: NinjaOneFake) -> Iterator[Running]:
    running = serve_in_thread(fake.app)
    yield running
    running.stop()


@pytest.fixture
async def authorized(ninja: Running, fake: NinjaOneFake, tmp_path: Path) -> AsyncIterator[tuple[InProcess, Store]]:
    store, tenant, customers = await approval_store(tmp_path / "store.db", ["acme", "globex"])
    settings, secrets = {"client_id": "ninja-web"}, {"client_secret": "web-secret"}
    await connect(store, "north", "ninjaone-user", name=NAME, base_url=ninja.url, token_url=None,
                  settings=settings, secrets=secrets)  # fmt: skip
    for slug, org in (("acme", "1"), ("globex", "2")):
        await store.tenant("north").connectors.map_customer(slug, NAME, org)
    grant = await begin_authorization(store, "north", NAME, "http://127.0.0.1:9/callback")
    assert grant.url.startswith(f"{ninja.url}/ws/oauth/authorize?") and "code_challenge=" in grant.url
    assert "offline_access" in grant.url
    async with httpx.AsyncClient() as http:
        done = await finish_authorization(store, "north", NAME, grant, fake.authorize("ninja-web"), http=http)
    assert f"{NAME}__run_script" in dict(done.tools)
    snap = snapshot(
        [(tenant, "north", False), ("t-beta", "beta", False)], customers=list(customers.values()),
        tokens={
            "mspx_member": TokenEntry(tenant, "k-member", "member"),
            "mspx_globex": TokenEntry(tenant, "k-globex", "customer", customer_id=customers["globex"].id),
            "mspx_beta": TokenEntry("t-beta", "k-beta", "admin"),
        },
        rules={tenant: [ItemRuleRecord("tool", f"{NAME}__*", True, ("member", "customer"), 1)], "t-beta": []},
        connectors={tenant: [await store.tenant("north").connectors.entry(NAME)]},
    )  # fmt: skip
    gw = await start(
        snap, max_body_bytes=65536, approvals=approving(store),
        connector_tokens=lambda slug, name: StoredToken(store, slug, name),
    )  # fmt: skip
    yield gw, store
    await gw.close()
    await store.close()


def test_the_user_context_kind_offers_run_script_only_there() -> None:
    assert vendor("ninjaone-user").tool("run_script") is not None
    assert vendor("ninjaone").tool("run_script") is None


async def test_a_script_runs_with_the_persons_token_once_approved(
    authorized: tuple[InProcess, Store], fake: NinjaOneFake
) -> None:
    gw, store = authorized
    args = {"device_id": 53, "script_id": 7, "parameters": "-Force"}
    result = await approved_call(gw, store, f"{NAME}__run_script", args, "mspx_member")
    assert result["isError"] is False, result
    assert fake.actions == [
        {"kind": "script", "deviceId": 53, "params": {"did": 53},
         "body": {"type": "SCRIPT", "runAs": "system", "id": 7, "parameters": "-Force"}},
    ]  # fmt: skip


async def test_an_expired_user_token_is_renewed_with_the_refresh_token_once(
    authorized: tuple[InProcess, Store], fake: NinjaOneFake
) -> None:
    gw, store = authorized
    before, first = fake.tokens_issued, await store.tenant("north").connectors.load_token(NAME)
    assert first is not None
    fake.expire_tokens()
    for device in (53, 54):
        answer = await raw_call(gw, f"{NAME}__get_device", {"device_id": device}, "mspx_member")
        assert answer["result"]["isError"] is False, answer
    # the Web application may only use authorization_code and refresh_token: a renewal is the refresh grant
    assert fake.tokens_issued == before + 1 and len(fake.recorded("/ws/oauth/token")) == before + 1
    stored = await store.tenant("north").connectors.load_token(NAME)
    assert stored is not None and stored["refresh_token"] not in (None, first["refresh_token"])  # rotated, saved


async def test_run_script_reaches_no_other_customers_device_and_no_other_tenant(
    authorized: tuple[InProcess, Store], fake: NinjaOneFake
) -> None:
    """The cross-customer and cross-tenant probe of the one tool the user-context kind adds."""
    gw, store = authorized
    foreign = await approved_call(gw, store, f"{NAME}__run_script", {"device_id": 1, "script_id": 7}, "mspx_globex")
    assert foreign["isError"] is True and "device 1 not found" in str(foreign) and "ACME" not in str(foreign)
    other = await raw_call(gw, f"{NAME}__run_script", {"device_id": 53, "script_id": 7}, "mspx_beta", "beta")
    assert other["error"]["message"] == f"Unknown tool: {NAME}__run_script"
    north = await raw_call(gw, f"{NAME}__run_script", {"device_id": 53, "script_id": 7}, "mspx_beta", "north")
    assert "error" in north and "result" not in north
    assert fake.actions == []
