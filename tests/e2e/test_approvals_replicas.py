"""Approvals across two gateway replicas sharing a store and Redis: a decision made on one replica reaches
a call waiting on the other (pub/sub), and racing retries spread over both run the approved call once."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import NoReturn

import pytest
from e2e_support import text_of
from test_approvals import ARGS, META, Setup, _race, _runs, _setup

from support.gateway import GatewayProcess, ServerProcess, connect, start_all, stop_all

pytestmark = pytest.mark.redis

REDIS = os.environ.get("MSPLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
async def replicas(
    tmp_path_factory: pytest.TempPathFactory, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[tuple[Setup, Setup]]:
    from redis.asyncio import Redis

    admin = Redis.from_url(REDIS, socket_connect_timeout=2)
    try:
        await admin.ping()
    except Exception as exc:
        await admin.aclose()
        unavailable(f"Redis at {REDIS.rpartition('@')[2]}", f"{type(exc).__name__}: {str(exc)[:120]}")
    prefix = f"msplex-test-{uuid.uuid4().hex[:8]}:"
    root = tmp_path_factory.mktemp("approval-replicas")
    env = {"MSPLEX_REDIS_URL": REDIS, "MSPLEX_REDIS_PREFIX": prefix, "MSPLEX_APPROVAL_WAIT_SECONDS": "20"}
    a = GatewayProcess(root / "home", env=env)
    b = GatewayProcess(root / "home", env=env, secret_key=a.secret_key)
    ledger = ServerProcess.ledger(root)
    try:
        ledger.launch()
        tokens = _setup(a, ledger)
        start_all(ledger, a, b)
        yield Setup(a, *tokens), Setup(b, *tokens)
    finally:
        stop_all(a, b, ledger)
        keys = [key async for key in admin.scan_iter(match=f"{prefix}*")]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()


async def test_a_decision_on_one_replica_ends_the_wait_on_the_other(replicas: tuple[Setup, Setup]) -> None:
    a, b = replicas
    assert "shared state: redis" in a.gw.log_text() and "shared state: redis" in b.gw.log_text()
    before = len(await _runs(a))
    async with connect(b.url, b.caller, "2026-07-28") as client:
        call = asyncio.ensure_future(client.call_tool("led__wipe", {**ARGS, "target": "replica"}))
        request = await a.pending()
        assert (await a.approve(request["id"])).status_code == 200  # decided on replica a
        result = await asyncio.wait_for(call, 30)  # the call waiting on replica b runs
    assert text_of(result) == "wiped replica"
    assert (await _runs(a))[before:] == [{"tool": "wipe", "args": {**ARGS, "target": "replica"}}]


async def test_racing_retries_on_both_replicas_run_the_approved_call_once(replicas: tuple[Setup, Setup]) -> None:
    a, b = replicas
    args = {**ARGS, "target": "replica-race"}
    async with connect(a.url, a.caller, "legacy") as client:
        held = await client.call_tool("led__wipe", args)
    approval_id = (held.meta or {})[META]["id"]
    await b.gw.acli("approvals", "approve", "--tenant", "appr", approval_id)  # the CLI publishes through Redis
    before = len(await _runs(a))
    outcomes = await asyncio.gather(
        _race(a.url, a.caller, approval_id, args, tries=4), _race(b.url, b.caller, approval_id, args, tries=4)
    )
    flat = [o for side in outcomes for o in side]
    assert flat.count("wiped replica-race") == 1, flat
    assert all("already used" in o for o in flat if o != "wiped replica-race"), flat
    assert (await _runs(a))[before:] == [{"tool": "wipe", "args": args}]
