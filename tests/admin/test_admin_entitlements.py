"""Plans (the operator's) and a tenant's subscription (read by its admin, set by the operator) over the admin API."""

from __future__ import annotations

from support.admin import BASE, Admin


async def test_the_operator_manages_plans_and_subscriptions_and_a_tenant_admin_reads_its_own(admin: Admin) -> None:
    acme = await admin.tenant_admin("acme")
    op = admin.operator
    created = await admin.call("POST", f"{BASE}/plans", op, json={"name": "basic", "connectors": ["ev", "halopsa"]})
    assert created.status_code == 201 and created.headers["location"] == f"{BASE}/plans/basic"
    assert created.json()["calls_per_month"] is None and created.json()["overage"] == "denied"
    changed = await admin.call("PATCH", f"{BASE}/plans/basic", op, json={"calls_per_month": 500, "overage": "allowed"})
    assert (changed.json()["calls_per_month"], changed.json()["overage"]) == (500, "allowed")
    bad = await admin.call("POST", f"{BASE}/plans", op, json={"name": "odd", "connectors": ["Halo PSA"]})
    assert bad.status_code == 422 and bad.json()["field"] == "connectors"

    none = await admin.call("GET", f"{BASE}/tenants/acme/subscription", acme)
    assert none.status_code == 404 and "has no subscription" in none.json()["detail"]
    body = {"plan": "basic", "status": "trialing", "trial_ends_at": "2020-01-31T00:00:00"}
    put = await admin.call("PUT", f"{BASE}/tenants/acme/subscription", op, json=body)
    assert put.status_code == 200, put.text
    assert put.json()["served_until"].startswith("2020-01-31T00:00:00")
    assert "the trial of tenant 'acme' (plan 'basic') ended on 2020-01-31" in put.json()["refused"]

    own = await admin.call("GET", f"{BASE}/tenants/acme/subscription", acme)
    assert own.status_code == 200 and own.json()["plan"] == "basic" and own.json()["refused"]
    for method, path, json in (
        ("PUT", "/tenants/acme/subscription", {"status": "active"}),
        ("DELETE", "/tenants/acme/subscription", None),
        ("GET", "/plans", None),
        ("POST", "/plans", {"name": "free", "connectors": ["*"]}),
    ):
        refused = await admin.call(method, f"{BASE}{path}", acme, json=json)
        assert refused.status_code == 403, (method, path, refused.text)
    assert (await admin.store.tenant("acme").subscription.get()).status == "trialing"  # type: ignore[union-attr]

    in_use = await admin.call("DELETE", f"{BASE}/plans/basic", op)
    assert in_use.status_code == 422 and "the plan of tenant(s) acme" in in_use.json()["detail"]
    assert (await admin.call("DELETE", f"{BASE}/tenants/acme/subscription", op)).status_code == 204
    assert (await admin.call("DELETE", f"{BASE}/plans/basic", op)).status_code == 204
    assert (await admin.call("GET", f"{BASE}/plans/basic", op)).status_code == 404
