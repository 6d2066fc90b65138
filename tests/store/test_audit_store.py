"""The audit chain on both backends: appended by the group-commit writer, verified, tampered with in SQL.

Each tamper test edits the database the way someone with write access to it would (UPDATE, DELETE,
INSERT, renumbering), and ``verify`` must name the record and what happened to it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from msplex.audit.entry import GENESIS, AuditEntry
from msplex.audit.verify import Verdict, verify_chain
from msplex.audit.writer import AuditWriter
from msplex.store import Store
from msplex.store.audit import AuditQuery

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def entry(tenant_id: str, n: int, **facts: Any) -> AuditEntry:
    base: dict[str, Any] = dict(
        tenant_id=tenant_id, at=T0 + timedelta(seconds=n), principal="token:k1", audience="member",
        customer_id=None, customer=None, method="tools/call", kind="tool", name=f"ev__tool{n % 3}",
        connector="ev", args_digest=f"m1.00.{n:04x}", stage="dispatch", decision="allow", rule=None,
        approval_id=None, overage=False, outcome="ok", error_code=None, reason=None, latency_us=1000 + n,
        request_id=str(n),
    )  # fmt: skip
    base.update(facts)
    return AuditEntry(**base)


async def written(store: Store, slug: str = "acme", count: int = 10) -> str:
    tenant = await store.create_tenant(slug)
    writer = AuditWriter(store)
    await writer.start()
    try:
        for n in range(1, count + 1):  # one at a time: seq n is entry n
            await writer.write(entry(tenant.id, n))
    finally:
        await writer.close()
    return tenant.id


async def verdict(store: Store, slug: str = "acme") -> Verdict:
    head, links = await store.tenant(slug).audit.chain()
    return verify_chain(head, links)


def kinds(v: Verdict) -> list[tuple[str, int | None]]:
    return [(f.kind, f.seq) for f in v.findings]


async def sql(store: Store, *statements: str) -> None:
    async with store.engine.begin() as conn:
        for statement in statements:
            await conn.execute(sa.text(statement))


async def test_records_are_chained_per_tenant_and_verify_clean(store: Store) -> None:
    acme = await written(store, "acme", 10)
    beta = await written(store, "beta", 3)
    checked = await verdict(store)
    assert checked.ok and checked.records == 10 and checked.head_seq == 10
    assert (await verdict(store, "beta")).records == 3
    records = await store.tenant("acme").audit.search(limit=100)
    assert [r.seq for r in records] == list(range(10, 0, -1))
    assert records[-1].prev_hash == GENESIS and records[0].prev_hash == records[1].hash
    assert all(r.entry.tenant_id == acme for r in records)
    assert all(r.entry.tenant_id == beta for r in await store.tenant("beta").audit.search())
    assert records[0].entry == entry(acme, 10)


async def test_concurrent_calls_share_batches_and_the_chain_stays_whole(store: Store) -> None:
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store)
    await writer.start()
    try:
        await asyncio.gather(*(writer.write(entry(tenant.id, n)) for n in range(300)))
    finally:
        await writer.close()
    assert writer.records == 300 and writer.batches < 300
    checked = await verdict(store)
    assert checked.ok and checked.records == 300


async def test_records_of_announced_calls_under_way_share_one_transaction(store: Store) -> None:
    """The writer waits for announced calls (``expect``) before it commits, so their records batch together."""
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store, linger=30.0)  # far longer than the test: only the last arrival ends the wait
    await writer.start()
    try:
        for _ in range(3):
            writer.expect()
        writer.arrive()
        first = asyncio.ensure_future(writer.write(entry(tenant.id, 1)))
        await asyncio.sleep(0.01)
        assert not first.done()  # two calls are still under way
        writer.arrive()
        second = asyncio.ensure_future(writer.write(entry(tenant.id, 2)))
        await asyncio.sleep(0.01)
        writer.arrive()  # the third call failed before it had a record: it still counts off
        await asyncio.wait_for(asyncio.gather(first, second), 10)
    finally:
        await writer.close()
    assert (writer.records, writer.batches) == (2, 1)
    assert (await verdict(store)).records == 2


async def test_a_lone_call_is_committed_without_waiting_for_the_linger(store: Store) -> None:
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store, linger=30.0)
    await writer.start()
    try:
        writer.expect()
        writer.arrive()
        await asyncio.wait_for(writer.write(entry(tenant.id, 1)), 10)
        writer.expect()  # a call under way when the writer closes does not hold the close up
        pending = asyncio.ensure_future(writer.write(entry(tenant.id, 2)))
        await asyncio.sleep(0.01)
    finally:
        await asyncio.wait_for(writer.close(), 10)
    await pending
    assert writer.records == 2


async def test_two_writers_on_one_database_extend_one_chain(store: Store, second_store: Store) -> None:
    """Two replicas (or a replica and the CLI) append to the same tenant's chain: the heads serialize them."""
    tenant = await store.create_tenant("acme")
    writers = [AuditWriter(store), AuditWriter(second_store)]
    for w in writers:
        await w.start()
    try:
        await asyncio.gather(*(writers[n % 2].write(entry(tenant.id, n)) for n in range(200)))
    finally:
        for w in writers:
            await w.close()
    checked = await verdict(store)
    assert checked.ok and checked.records == 200


async def test_verify_names_an_altered_record(store: Store) -> None:
    await written(store)
    await sql(store, "UPDATE audit_records SET outcome = 'ok', principal = 'token:someone-else' WHERE seq = 4")
    assert kinds(await verdict(store)) == [("altered", 4)]


async def test_verify_names_a_removed_record(store: Store) -> None:
    await written(store)
    await sql(store, "DELETE FROM audit_records WHERE seq = 5")
    checked = await verdict(store)
    assert kinds(checked) == [("removed", 5)]
    assert "seq 5 removed" in checked.findings[0].message


async def test_verify_names_removed_records_at_the_end(store: Store) -> None:
    await written(store)
    await sql(store, "DELETE FROM audit_records WHERE seq >= 9")
    assert kinds(await verdict(store)) == [("removed", 10)]


async def test_verify_sees_the_tail_cut_and_the_head_set_back(store: Store) -> None:
    """Someone with the database (not the key) deletes the last records and points the head at seq 7."""
    await written(store)
    await sql(
        store,
        "DELETE FROM audit_records WHERE seq > 7",
        "UPDATE audit_heads SET seq = 7, hash = (SELECT hash FROM audit_records WHERE seq = 7)",
    )
    checked = await verdict(store)
    assert kinds(checked) == [("head", 7)] and "records after it may have been removed" in checked.findings[0].message


async def test_verify_names_a_removed_record_even_when_the_rest_is_renumbered(store: Store) -> None:
    await written(store)
    await sql(
        store,
        "DELETE FROM audit_records WHERE seq = 5",
        "UPDATE audit_records SET seq = seq + 1000 WHERE seq > 5",
        "UPDATE audit_records SET seq = seq - 1001 WHERE seq > 1000",
    )
    assert kinds(await verdict(store)) == [("removed", 5)]


async def test_verify_names_an_inserted_record(store: Store) -> None:
    await written(store)
    await sql(
        store,
        "UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 5",
        "UPDATE audit_records SET seq = seq - 999 WHERE seq > 1000",
        "INSERT INTO audit_records SELECT tenant_id, 5, at, 'token:intruder', audience, customer_id, customer, method,"
        " kind, name, connector, args_digest, stage, decision, rule, approval_id, overage, outcome, error_code, reason,"
        " latency_us, request_id, prev_hash, 'm1.00.forged' FROM audit_records WHERE seq = 4",
    )
    assert kinds(await verdict(store)) == [("inserted", 5)]


async def test_verify_names_a_copied_record_appended_after_the_head(store: Store) -> None:
    await written(store)
    await sql(
        store,
        "INSERT INTO audit_records SELECT tenant_id, 11, at, principal, audience, customer_id, customer, method,"
        " kind, name, connector, args_digest, stage, decision, rule, approval_id, overage, outcome, error_code, reason,"
        " latency_us, request_id, prev_hash, hash FROM audit_records WHERE seq = 3",
    )
    assert kinds(await verdict(store)) == [("inserted", 11)]


async def test_verify_names_reordered_records(store: Store) -> None:
    await written(store)
    await sql(
        store,
        "UPDATE audit_records SET seq = -3 WHERE seq = 3",
        "UPDATE audit_records SET seq = 3 WHERE seq = 7",
        "UPDATE audit_records SET seq = 7 WHERE seq = -3",
    )
    checked = await verdict(store)
    assert kinds(checked) == [("reordered", 3), ("reordered", 7)]
    assert "after seq 6" in checked.findings[0].message


async def test_search_filters_and_pages(store: Store) -> None:
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store)
    await writer.start()
    try:
        for n in range(1, 13):
            denied = n % 4 == 0
            await writer.write(
                entry(
                    tenant.id, n, principal=f"token:k{n % 2}", customer="alpha" if n % 3 == 0 else None,
                    stage="check_approval" if denied else "dispatch", outcome="denied" if denied else "ok",
                    decision="deny" if denied else "allow",
                )
            )  # fmt: skip
    finally:
        await writer.close()
    audit = store.tenant("acme").audit
    assert [r.seq for r in await audit.search(AuditQuery(outcome="denied"))] == [12, 8, 4]
    assert [r.seq for r in await audit.search(AuditQuery(stage="check_approval", principal="token:k0"))] == [12, 8, 4]
    assert [r.seq for r in await audit.search(AuditQuery(customer="alpha"))] == [12, 9, 6, 3]
    assert [r.seq for r in await audit.search(AuditQuery(tool="ev__tool1"))] == [10, 7, 4, 1]
    assert len(await audit.search(AuditQuery(tool="ev__*"))) == 12
    window = AuditQuery(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6))
    assert [r.seq for r in await audit.search(window)] == [5, 4, 3]
    assert [r.seq for r in await audit.search(limit=3, before=6)] == [5, 4, 3]
    assert [r.seq async for r in audit.records(AuditQuery(outcome="ok"))] == [1, 2, 3, 5, 6, 7, 9, 10, 11]


async def test_usage_is_counted_with_the_records(store: Store) -> None:
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store)
    await writer.start()
    try:
        facts: list[dict[str, Any]] = [
            dict(customer="alpha"), dict(customer="alpha", overage=True),
            dict(customer="beta", outcome="denied", decision="deny", stage="check_approval"),
            dict(customer="beta", outcome="error", error_code=-32603), dict(outcome="tool_error"),
            dict(outcome="held", decision="hold", stage="check_approval"),
        ]  # fmt: skip
        await asyncio.gather(*(writer.write(entry(tenant.id, 3, **f)) for f in facts))
    finally:
        await writer.close()
    audit = store.tenant("acme").audit
    [total] = await audit.usage()
    assert (total.calls, total.ok, total.denied, total.held, total.errors, total.overage) == (6, 3, 1, 1, 2, 1)
    assert total.denied_by_stage == {"check_approval": 1} and total.duration_us == 6 * 1003
    by_customer = {u.key: u for u in await audit.usage("customer")}
    assert by_customer["alpha"].calls == 2 and by_customer["alpha"].overage == 1
    assert by_customer["beta"].denied == 1 and by_customer["beta"].errors == 1
    assert await audit.usage(since=T0 + timedelta(hours=1)) == []
    assert (await store.status()).calls_denied == 1


async def test_an_approval_decision_is_audited_with_its_approver(store: Store) -> None:
    await store.create_tenant("acme")
    approvals = store.tenant("acme").approvals
    held = await approvals.create(
        kind="tool", name="ev__wipe", instance="ev", customer_id=None, requester="token:asker",
        arguments={"host": "db1"}, redacted={"host": "db1"}, ttl=60,
    )  # fmt: skip
    await approvals.decide(held.id, approve=True, approver="token:approver", reason="change 42")
    [record] = await store.tenant("acme").audit.search()
    e = record.entry
    assert (e.method, e.principal, e.decision, e.approval_id, e.name, e.reason) == (
        "approvals/approve",
        "token:approver",
        "approve",
        held.id,
        "ev__wipe",
        "change 42",
    )
    assert (await verdict(store)).ok
    assert await store.tenant("acme").audit.usage() == []  # decisions are audited, not metered


@pytest.mark.parametrize("slug", ["beta"])
async def test_one_tenant_sees_only_its_own_chain(store: Store, slug: str) -> None:
    await written(store, "acme", 4)
    await store.create_tenant(slug)
    assert await store.tenant(slug).audit.search() == []
    checked = await verdict(store, slug)
    assert checked.ok and checked.records == 0 and checked.head_seq is None


async def test_on_sqlite_a_batch_waits_for_a_lock_held_elsewhere_then_commits(tmp_path: Any) -> None:
    """A small batch is written on the event loop without waiting; when another connection (a CLI command,
    a backup) holds the write lock, it waits for the lock on the writer thread instead of failing."""
    import os
    import sqlite3

    from msplex.crypto import Keyring
    from msplex.store import make_engine

    path = tmp_path / "store.db"
    store = Store(make_engine(f"sqlite+aiosqlite:///{path}"), Keyring([os.urandom(32)]))
    await store.migrate()
    tenant = await store.create_tenant("acme")
    writer = AuditWriter(store)
    await writer.start()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await writer.write(entry(tenant.id, 1))
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.ensure_future(writer.write(entry(tenant.id, 2)))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # no response may leave while its record cannot commit
        other.execute("ROLLBACK")
        await asyncio.wait_for(waiting, 10)
    finally:
        other.close()
        await writer.close()
    checked = await verdict(store)
    await store.close()
    assert checked.ok and checked.records == 2
