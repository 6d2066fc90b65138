"""The entitlement snapshot (chain stage 4) is cached per tenant and follows the control-plane version: in
steady state a tools/call costs no database statement, and a subscription change is applied on the next
reload. Measured with a statement counter on the store's engine of a real gateway (the edge over ASGI,
SQLite, an upstream process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa

from support.admin import Admin, start_admin
from support.gateway import ServerProcess, modern_request


@pytest.fixture
async def gateway(
    msplex_home: Path, tmp_path: Path, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[tuple[Admin, str]]:
    upstream = ServerProcess.everything(tmp_path).start()
    try:
        async for admin in start_admin("sqlite", msplex_home, unavailable):
            store = admin.store
            await store.create_tenant("acme")
            acme = store.tenant("acme")
            await acme.set_rule("tool", "*", enabled=True)
            await acme.add_upstream("ev", url=upstream.url)
            await store.plans.create("basic", ["ev"], calls_per_month=1000)
            await acme.subscription.set(plan="basic", status="active")
            token = await admin.token("acme", "member")
            yield admin, token
    finally:
        upstream.stop()


async def _call(admin: Admin, token: str) -> dict[str, Any]:
    headers, body = modern_request("tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}, token, "ev__echo")
    response = await admin.http.post("/mcp/v1/acme", json=body, headers=headers)
    answer: dict[str, Any] = response.json()
    return answer


async def _quiet(admin: Admin) -> None:
    """Stop what queries the store on a timer (heartbeat, control-plane poll): what is left is the calls'."""
    for task in admin.app._tasks:
        task.cancel()
    await asyncio.gather(*admin.app._tasks, return_exceptions=True)
    await admin.app.control.stop()


async def test_a_call_in_steady_state_costs_no_database_statement(gateway: tuple[Admin, str]) -> None:
    admin, token = gateway
    async with asyncio.timeout(15):
        while "result" not in await _call(admin, token):  # noqa: ASYNC110 - the upstream's first listing
            await asyncio.sleep(0.05)
    await _quiet(admin)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = admin.store.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        answers = [await _call(admin, token) for _ in range(100)]
        assert all(a["result"]["content"][0]["text"] == "x" for a in answers)
        assert statements == []

        await admin.store.tenant("acme").subscription.set(status="suspended")
        assert await admin.app.control.refresh()  # the version moved: one reload
        assert any("subscriptions" in s for s in statements)
        statements.clear()
        refused = [await _call(admin, token) for _ in range(20)]
        assert {a["error"]["data"]["stage"] for a in refused} == {"verify_subscription"}
        assert statements == []
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
