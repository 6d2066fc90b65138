"""Stage 12 through the real edge and gateway (in process, SQLite): what each outcome leaves in the log.

A success, a refusal at each early stage (with the stage named), a call that never reached a tenant,
and a gateway whose audit writer is gone (the caller gets an error, never a result without its record).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import orjson
import pytest

from msplex.audit.entry import ARGUMENTS_PURPOSE
from msplex.audit.verify import verify_chain
from msplex.store.audit import AuditRecord
from support.admin import Admin, start_admin
from support.gateway import ServerProcess, jsonrpc_of, modern_request


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess.everything(tmp_path_factory.mktemp("audit-upstream")).start()
    yield server
    server.stop()


@pytest.fixture
async def gateway(
    msplex_home: Path, unavailable: Callable[[str, str], NoReturn], upstream: ServerProcess
) -> AsyncIterator[tuple[Admin, str]]:
    async for admin in start_admin("sqlite", msplex_home, unavailable):
        tenant = await admin.store.create_tenant("acme")
        scope = admin.store.tenant("acme")
        await scope.set_rule("tool", "*", enabled=True, audiences=("admin", "member"))
        await scope.add_upstream("ev", url=upstream.url)
        token = await admin.token("acme", "member")
        catalogue = admin.app.gateway.catalogue(tenant.id)
        assert catalogue is not None
        await catalogue.settle(10)
        yield admin, token


async def _call(admin: Admin, token: str | None, method: str, params: dict[str, Any], name: str | None = None) -> Any:
    headers, body = modern_request(method, params, token, name)
    response = await admin.http.post("/mcp/v1/acme", json=body, headers=headers)
    return response.status_code, jsonrpc_of(response)  # type: ignore[arg-type]


async def _records(admin: Admin) -> list[AuditRecord]:
    return list(reversed(await admin.store.tenant("acme").audit.search()))


async def test_a_success_is_recorded_with_who_what_and_a_keyed_digest_of_the_arguments(
    gateway: tuple[Admin, str],
) -> None:
    admin, token = gateway
    status, answer = await _call(
        admin, token, "tools/call", {"name": "ev__echo", "arguments": {"text": "hi"}}, "ev__echo"
    )
    assert status == 200 and answer["result"]["content"][0]["text"] == "hi"
    [record] = await _records(admin)
    e = record.entry
    assert (e.method, e.kind, e.name, e.connector, e.stage, e.decision, e.outcome) == (
        "tools/call", "tool", "ev__echo", "ev", "dispatch", "allow", "ok",
    )  # fmt: skip
    assert e.principal.startswith("token:") and e.audience == "member" and e.request_id == "1"
    assert e.tenant_id == (await admin.store.get_tenant("acme")).id and e.latency_us > 0
    plain = orjson.dumps({"text": "hi"}, option=orjson.OPT_SORT_KEYS)
    assert admin.store.keyring.mac_matches(plain, e.args_digest or "", purpose=ARGUMENTS_PURPOSE)
    assert "hi" not in str(record.as_dict()).replace("hash", "")


async def test_refusals_are_recorded_with_the_stage_that_refused(gateway: tuple[Admin, str]) -> None:
    admin, token = gateway
    status, unknown = await _call(admin, token, "tools/call", {"name": "ev__nope", "arguments": {}}, "ev__nope")
    assert "error" in unknown
    status, _ = await _call(admin, "mspx_not-a-token", "tools/call", {"name": "ev__echo"}, "ev__echo")
    assert status == 401
    listed_status, _ = await _call(admin, token, "tools/list", {})
    assert listed_status == 200
    by_target, by_identity = await _records(admin)  # a successful list is not audited
    assert (by_target.entry.stage, by_target.entry.outcome, by_target.entry.decision) == (
        "resolve_target", "denied", "deny",
    )  # fmt: skip
    assert by_target.entry.name == "ev__nope" and by_target.entry.error_code == unknown["error"]["code"]
    assert (by_identity.entry.stage, by_identity.entry.principal, by_identity.entry.outcome) == (
        "authenticate", "unauthenticated", "denied",
    )  # fmt: skip
    assert by_identity.entry.reason and "mspx_not-a-token" not in by_identity.entry.reason
    head, links = await admin.store.tenant("acme").audit.chain()
    assert verify_chain(head, links).ok


async def test_a_policy_denial_names_its_rule_and_overage_is_metered(gateway: tuple[Admin, str]) -> None:
    admin, token = gateway
    scope = admin.store.tenant("acme")
    await scope.policies.add_rule("no-slow", "deny", tools=["ev__slow"])
    await scope.policies.set_quota("tiny", scope="tenant", window="day", limit=1, overage=True)
    await admin.sync()
    _, refused = await _call(admin, token, "tools/call", {"name": "ev__slow", "arguments": {}}, "ev__slow")
    assert "no-slow" in refused["error"]["message"]
    for text in ("one", "two"):
        await _call(admin, token, "tools/call", {"name": "ev__echo", "arguments": {"text": text}}, "ev__echo")
    denial, first, second = await _records(admin)
    assert (denial.entry.stage, denial.entry.rule, denial.entry.outcome) == ("evaluate_policy", "no-slow", "denied")
    assert (first.entry.overage, second.entry.overage) == (False, True)
    [total] = await scope.audit.usage()
    assert (total.calls, total.denied, total.overage, total.denied_by_stage) == (3, 1, 1, {"evaluate_policy": 1})


async def test_without_a_durable_record_the_caller_gets_an_error_not_the_result(gateway: tuple[Admin, str]) -> None:
    admin, token = gateway
    writer = admin.app.gateway.audit
    assert writer is not None
    await writer.close()
    _, answer = await _call(admin, token, "tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}, "ev__echo")
    assert "result" not in answer and "could not be audited" in answer["error"]["message"]
    assert await _records(admin) == []
