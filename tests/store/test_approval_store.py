"""Approval requests in the store, on SQLite and PostgreSQL: sealed arguments, decisions, a claim won once."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from msplex.store import NotFound, Store
from msplex.store.approvals import ApprovalRecord, ApprovalRefused
from msplex.store.models import ApprovalRequest

SECRET_ARGS = {"target": "srv-1", "password": "hunter2", "nested": {"n": [1, 2]}}


async def _held(
    store: Store, tenant: str = "acme", ttl: float = 60.0, requester: str = "token:caller"
) -> ApprovalRecord:
    return await store.tenant(tenant).approvals.create(
        kind="tool",
        name="ev__wipe",
        instance="ev",
        customer_id=None,
        requester=requester,
        arguments=SECRET_ARGS,
        redacted={"target": "srv-1", "password": "«redacted»", "nested": {"n": [1, 2]}},
        ttl=ttl,
    )


@pytest.fixture
async def acme(store: Store) -> Store:
    await store.create_tenant("acme")
    await store.create_tenant("beta")
    return store


async def test_the_arguments_are_sealed_and_shown_redacted(acme: Store) -> None:
    held = await _held(acme)
    approvals = acme.tenant("acme").approvals
    assert held.status == "pending" and held.arguments["password"] == "«redacted»"
    async with acme.reader() as session:
        row = (await session.execute(sa.select(ApprovalRequest))).scalar_one()
    stored = " ".join(str(v) for v in (row.arguments_enc, row.arguments_redacted, row.arguments_digest))
    assert "hunter2" not in stored
    record, arguments = await approvals.arguments(held.id)
    assert arguments == SECRET_ARGS and record.id == held.id
    assert approvals.matches(held, {"nested": {"n": [1, 2]}, "password": "hunter2", "target": "srv-1"})
    assert not approvals.matches(held, {**SECRET_ARGS, "password": "hunter3"})


async def test_a_request_is_invisible_to_another_tenant(acme: Store) -> None:
    held = await _held(acme)
    beta = acme.tenant("beta").approvals
    with pytest.raises(NotFound):
        await beta.get(held.id)
    with pytest.raises(NotFound):
        await beta.decide(held.id, approve=True, approver="token:beta-admin", reason=None)
    assert not await beta.claim(held.id, "token:caller")
    assert await beta.list("all") == []
    assert [r.id for r in await acme.tenant("acme").approvals.list()] == [held.id]


async def test_decisions_record_the_approver_once_and_never_the_requesters_own(acme: Store) -> None:
    approvals = acme.tenant("acme").approvals
    held = await _held(acme)
    with pytest.raises(ApprovalRefused) as own:
        await approvals.decide(held.id, approve=True, approver="token:caller", reason=None)
    assert own.value.why == "self"
    decided = await approvals.decide(held.id, approve=False, approver="token:boss", reason="not today")
    assert (decided.status, decided.decided_by, decided.reason) == ("denied", "token:boss", "not today")
    with pytest.raises(ApprovalRefused) as twice:
        await approvals.decide(held.id, approve=True, approver="token:boss2", reason=None)
    assert twice.value.why == "decided" and "already denied by token:boss" in twice.value.message
    assert not await approvals.claim(held.id, "token:caller")


async def test_an_expired_request_can_be_neither_decided_nor_claimed(acme: Store) -> None:
    approvals = acme.tenant("acme").approvals
    stale, approved = await _held(acme, ttl=60), await _held(acme, ttl=60)
    await approvals.decide(approved.id, approve=True, approver="token:boss", reason=None)
    async with acme.transaction() as session:
        await session.execute(sa.update(ApprovalRequest).values(expires_at=stale.created_at))
    assert {r.status for r in await approvals.list("all")} == {"expired"}
    assert {r.id for r in await approvals.list("expired")} == {stale.id, approved.id}
    assert await approvals.list("pending") == [] and await approvals.list("approved") == []
    with pytest.raises(ApprovalRefused) as late:
        await approvals.decide(stale.id, approve=True, approver="token:boss", reason=None)
    assert late.value.why == "expired"
    assert not await approvals.claim(approved.id, "token:caller")


async def test_fifty_racing_claims_of_one_approval_admit_exactly_one(acme: Store, second_store: Store) -> None:
    """Two stores on one database, as two replicas would be: the conditional UPDATE admits one claim."""
    approvals = acme.tenant("acme").approvals
    held = await _held(acme)
    await approvals.decide(held.id, approve=True, approver="token:boss", reason=None)
    stores = (acme, second_store)
    wins = await asyncio.gather(
        *(stores[i % 2].tenant("acme").approvals.claim(held.id, "token:caller") for i in range(50))
    )
    assert wins.count(True) == 1
    assert (await approvals.get(held.id)).status == "executed"


async def test_only_the_requester_claims_and_only_an_approved_request(acme: Store) -> None:
    approvals = acme.tenant("acme").approvals
    held = await _held(acme)
    assert not await approvals.claim(held.id, "token:caller")  # still pending
    await approvals.decide(held.id, approve=True, approver="token:boss", reason=None)
    assert not await approvals.claim(held.id, "token:someone-else")
    assert await approvals.claim(held.id, "token:caller")


async def test_withdrawing_is_the_requesters_and_only_while_pending(acme: Store) -> None:
    approvals = acme.tenant("acme").approvals
    held = await _held(acme)
    assert not await approvals.withdraw(held.id, "token:someone-else")
    assert await approvals.withdraw(held.id, "token:caller")
    assert not await approvals.withdraw(held.id, "token:caller")
    assert (await approvals.get(held.id)).status == "withdrawn"


async def test_a_bad_status_filter_is_a_clear_error(acme: Store) -> None:
    with pytest.raises(Exception) as bad:
        await acme.tenant("acme").approvals.list("maybe")
    assert "maybe" in str(bad.value) and "pending" in str(bad.value)
