"""How each kind of chain outcome becomes a record (``entry_of``), and stage 12 with a cancelled call."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from msplex.audit.entry import entry_of
from msplex.audit.writer import AuditWriter
from msplex.call import Call, Decision, Principal, Target
from msplex.chain import Outcome
from msplex.chain.stages.write_audit import WriteAudit
from msplex.crypto import Keyring
from msplex.directory import Directory
from msplex.errors import Code, Denied, Held, Relayed, RpcError, Stage
from msplex.store import Store, make_engine
from msplex.store.models import utcnow
from msplex.store.records import CustomerRecord, TenantRecord

KEYRING = Keyring([os.urandom(32)])
TENANT = TenantRecord("t1", "acme", "Acme", False, utcnow())


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


def _call(**facts: Any) -> Call:
    item = {"name": "wipe", "inputSchema": {"properties": {"password": {"type": "string"}}}}
    target = Target("tool", "ev__wipe", "ev", "wipe", None, "upstream", item)  # type: ignore[arg-type]
    params = {"name": "ev__wipe", "arguments": {"host": "db1", "password": "hunter2"}}
    call = Call("tools/call", params, "r-7", "modern", "2026-07-28", {}, _Peer())
    base = dict(
        tenant=TENANT, principal=Principal("token", "t1", "k1", "member"), target=target,
        customer=CustomerRecord("c1", "t1", "alpha", "Alpha", utcnow()), decision=Decision("no-wipes"),
    )  # fmt: skip
    return call.learned(**(base | facts))


def _entry(outcome: Outcome) -> Any:
    return entry_of(outcome, KEYRING, lambda call: None)


def test_a_held_call_names_its_approval_request() -> None:
    held = Held(Stage.CHECK_APPROVAL, {"content": []}, "approval request a-1 is pending", approval_id="a-1")
    e = _entry(Outcome(_call(), error=held, stage=Stage.CHECK_APPROVAL))
    assert (e.decision, e.outcome, e.stage, e.approval_id, e.rule) == (
        "hold",
        "held",
        "check_approval",
        "a-1",
        "no-wipes",
    )
    assert (e.customer, e.customer_id, e.request_id) == ("alpha", "c1", "r-7")


def test_a_denial_keeps_its_reason_and_an_upstream_error_only_its_code() -> None:
    denied = Denied(Stage.CHECK_APPROVAL, Code.APPROVAL, "approval request a-2 was denied")
    denied.data = {**denied.data, "approval": {"id": "a-2"}}
    e = _entry(Outcome(_call(), error=denied, stage=Stage.CHECK_APPROVAL))
    assert (e.outcome, e.reason, e.approval_id, e.error_code) == ("denied", denied.reason, "a-2", denied.rpc_code)
    relayed = Relayed(-32001, "upstream says: token sk-live-123 rejected")
    e = _entry(Outcome(_call(), dispatched=True, error=relayed, stage=Stage.DISPATCH))
    assert (e.decision, e.outcome, e.error_code, e.reason) == ("allow", "error", -32001, None)


def test_a_tool_error_result_and_the_arguments_never_in_clear() -> None:
    e = _entry(Outcome(_call(), dispatched=True, result={"isError": True, "content": []}, stage=Stage.DISPATCH))
    assert e.outcome == "tool_error" and e.args_digest is not None
    assert "hunter2" not in repr(e) and "db1" not in repr(e)
    same_but_secret = _call(params={"name": "ev__wipe", "arguments": {"host": "db1", "password": "other"}})
    assert _entry(Outcome(same_but_secret, dispatched=True, stage=Stage.DISPATCH)).args_digest == e.args_digest


def test_a_refusal_before_any_tenant_goes_to_the_platform_chain() -> None:
    bare = Call("tools/call", {"name": "x"}, 1, "legacy", "2025-11-25", {}, _Peer())
    refused = Denied(Stage.AUTHENTICATE, Code.UNAUTHENTICATED, "no such token")
    e = _entry(Outcome(bare, error=refused))
    assert (e.tenant_id, e.principal, e.name, e.stage, e.connector) == (
        "",
        "unauthenticated",
        "x",
        "authenticate",
        None,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"), KEYRING)
    await store.migrate()
    yield store
    await store.close()


async def test_a_cancelled_call_is_recorded_without_waiting_and_never_raises(store: Store) -> None:
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store)
    await writer.start()
    stage = WriteAudit(writer, Directory())
    cancelled = Outcome(_call(tenant=tenant), dispatched=True, error=asyncio.CancelledError(), stage=Stage.DISPATCH)
    await stage(cancelled)
    await writer.close()
    [record] = await store.tenant("acme").audit.search()
    assert record.entry.outcome == "cancelled"
    await stage(cancelled)  # the writer is gone: logged, not raised into a cancellation
    with pytest.raises(RpcError, match="could not be audited"):
        await stage(Outcome(_call(tenant=tenant), dispatched=True, stage=Stage.DISPATCH))
