"""The admin API's audit and usage routes on both backends: search, export, verify and usage of one tenant."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from msplex.audit.entry import AuditEntry
from support.admin import BASE, Admin

NOW = datetime.now(UTC).replace(microsecond=0)


async def _seed(admin: Admin, slug: str) -> None:
    tenant = await admin.store.get_tenant(slug)
    writer = admin.app.gateway.audit
    assert writer is not None
    facts: list[dict[str, Any]] = [
        {}, dict(customer="alpha"), dict(stage="check_approval", decision="deny", outcome="denied", reason="no"),
    ]  # fmt: skip
    for n, extra in enumerate(facts):
        base: dict[str, Any] = dict(
            tenant_id=tenant.id, at=NOW - timedelta(minutes=3 - n), principal=f"token:{slug}", audience="member",
            customer_id=None, customer=None, method="tools/call", kind="tool", name=f"ev__t{n}", connector="ev",
            args_digest="m1.00.aa", stage="dispatch", decision="allow", rule="r1", approval_id=None, overage=False,
            outcome="ok", error_code=None, reason=None, latency_us=1500, request_id=str(n),
        )  # fmt: skip
        await writer.write(AuditEntry(**(base | extra)))


async def test_a_tenant_admin_searches_exports_verifies_and_meters_its_own_tenant(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    await admin.tenant("beta")
    await _seed(admin, "acme")
    await _seed(admin, "beta")
    url = f"{BASE}/tenants/acme"
    tail = (await admin.call("GET", f"{url}/audit", token)).json()
    assert [r["seq"] for r in tail] == [3, 2, 1] and {r["principal"] for r in tail} == {"token:acme"}
    denied = (await admin.call("GET", f"{url}/audit?outcome=denied&stage=check_approval", token)).json()
    assert [r["name"] for r in denied] == ["ev__t2"]
    assert [r["seq"] for r in (await admin.call("GET", f"{url}/audit?customer=alpha", token)).json()] == [2]
    assert [r["seq"] for r in (await admin.call("GET", f"{url}/audit?limit=1&before=3", token)).json()] == [2]
    jsonl = await admin.call("GET", f"{url}/audit/export", token)
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line)["seq"] for line in jsonl.text.splitlines()] == [1, 2, 3]
    as_csv = await admin.call("GET", f"{url}/audit/export?format=csv&tool=ev__t*", token)
    assert [r["name"] for r in csv.DictReader(io.StringIO(as_csv.text))] == ["ev__t0", "ev__t1", "ev__t2"]
    verdict = (await admin.call("GET", f"{url}/audit/verify", token)).json()
    assert verdict == {"ok": True, "records": 3, "head_seq": 3, "findings": []}
    [total] = (await admin.call("GET", f"{url}/usage", token)).json()
    assert (total["key"], total["calls"], total["denied"], total["denied_by_stage"]) == (
        "acme", 3, 1, {"check_approval": 1},
    )  # fmt: skip
    by_tool = await admin.call("GET", f"{url}/usage?by=tool&format=csv", token)
    assert sorted(r["tool"] for r in csv.DictReader(io.StringIO(by_tool.text))) == ["ev__t0", "ev__t1", "ev__t2"]
    bad = await admin.call("GET", f"{url}/usage?by=colour", token)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


async def test_verify_over_the_api_names_a_removed_record(admin: Admin) -> None:
    token = await admin.tenant_admin("acme")
    await _seed(admin, "acme")
    async with admin.store.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM audit_records WHERE seq = 2"))
    verdict = (await admin.call("GET", f"{BASE}/tenants/acme/audit/verify", token)).json()
    assert verdict["ok"] is False and [(f["kind"], f["seq"]) for f in verdict["findings"]] == [("removed", 2)]
