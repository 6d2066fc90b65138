"""Stage 10 on its own, over a real SQLite store and the in-process state: the cases no tool annotation reaches
(a policy decision on a prompt, a resource or a method that cannot wait, anonymous callers, no store)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from msplex.approvals import Approvals
from msplex.call import Call, Decision, Principal, Target
from msplex.chain.stages.check_approval import CheckApproval
from msplex.crypto import Keyring
from msplex.errors import Code, Denied, Held
from msplex.state.memory import MemoryState
from msplex.store import Store, make_engine


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


@pytest.fixture
async def approvals(tmp_path: Path) -> AsyncIterator[Approvals]:
    store = Store(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"), Keyring([os.urandom(32)]))
    await store.migrate()
    await store.create_tenant("acme")
    state = MemoryState()
    service = Approvals(store, state, ttl=60, wait=0)
    await service.start()
    yield service
    await service.close()
    await state.close()
    await store.close()


async def _call(approvals: Approvals, method: str, kind: str, *, era: str = "legacy", anonymous: bool = False) -> Call:
    tenant = await approvals.store.get_tenant("acme")
    principal = Principal("anonymous", None) if anonymous else Principal("token", tenant.id, "k1", "member")
    target = Target(kind, "ev__thing", "ev", "thing", None, "upstream", {"name": "thing"})  # type: ignore[arg-type]
    params = {"name": "ev__thing", "arguments": {"a": "1"}} if kind != "resource" else {"uri": "ev://thing"}
    call = Call(method, params, 1, era, "2025-11-25", {}, _Peer())  # type: ignore[arg-type]
    return call.learned(tenant=tenant, principal=principal, target=target, decision=Decision("rule-1", approval=True))


async def test_a_prompt_held_for_a_legacy_client_is_an_error_naming_the_request(approvals: Approvals) -> None:
    with pytest.raises(Denied) as pending:
        await CheckApproval(approvals)(await _call(approvals, "prompts/get", "prompt"))
    assert pending.value.code is Code.APPROVAL and "is pending" in pending.value.reason
    request_id = pending.value.data["approval"]["id"]
    assert (await approvals.of("acme").get(request_id)).kind == "prompt"


async def test_a_resource_held_for_a_modern_client_is_input_required(approvals: Approvals) -> None:
    with pytest.raises(Held) as held:
        await CheckApproval(approvals)(await _call(approvals, "resources/read", "resource", era="modern"))
    result = held.value.result
    assert result["resultType"] == "input_required" and result["requestState"].startswith("msplex-approval1.")


async def test_a_method_that_cannot_wait_an_anonymous_caller_and_a_gateway_without_a_store_are_refused(
    approvals: Approvals,
) -> None:
    cases = [
        (approvals, await _call(approvals, "completion/complete", "prompt"), "cannot wait"),
        (approvals, await _call(approvals, "tools/call", "tool", anonymous=True), "anonymous"),
        (None, await _call(approvals, "tools/call", "tool"), "no approval store"),
    ]
    for service, call, why in cases:
        with pytest.raises(Denied) as refused:
            await CheckApproval(service)(call)
        assert refused.value.code is Code.APPROVAL and why in refused.value.reason
    assert await approvals.of("acme").list("all") == []


async def test_a_call_policy_lets_through_without_approval_passes_untouched(approvals: Approvals) -> None:
    call = (await _call(approvals, "tools/call", "tool")).learned(decision=Decision("rule-2", approval=False))
    assert await CheckApproval(approvals)(call) is call
