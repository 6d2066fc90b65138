"""Heartbeats and the status report: liveness, cumulative calls, unhealthy upstreams."""

from __future__ import annotations

from datetime import timedelta

import pytest

from msplex.store import InvalidInput, Store, UpstreamHealth
from msplex.store.models import utcnow


async def test_status_is_stopped_without_a_recent_heartbeat(store: Store) -> None:
    report = await store.status()
    assert not report.operational and report.replicas == () and report.calls_routed == 0
    old = utcnow() - timedelta(seconds=30)
    await store.heartbeat("r1", "http://127.0.0.1:8000", 0, [], now=old)
    assert not (await store.status()).operational
    await store.heartbeat("r1", "http://127.0.0.1:8000", 0, [])
    report = await store.status()
    assert report.operational and [r.replica_id for r in report.replicas] == ["r1"]
    assert report.replicas[0].started_at == old


async def test_calls_routed_accumulate_across_beats_and_replicas(store: Store) -> None:
    await store.heartbeat("r1", "http://a", 5, [])
    await store.heartbeat("r1", "http://a", 7, [])
    await store.heartbeat("r2", "http://b", 30, [])
    report = await store.status()
    assert report.calls_routed == 42
    assert {r.replica_id: r.calls_routed for r in report.replicas} == {"r1": 12, "r2": 30}
    # a replica that died long ago is pruned, but its calls stay counted
    await store.heartbeat("r3", "http://c", 8, [], now=utcnow() - timedelta(days=2))
    await store.heartbeat("r1", "http://a", 0, [])
    assert (await store.calls_routed()) == 50
    with pytest.raises(InvalidInput):
        await store.heartbeat("r1", "http://a", -1, [])


async def test_status_names_unhealthy_upstreams_that_still_exist(store: Store) -> None:
    acme = await store.create_tenant("acme")
    await store.tenant("acme").add_upstream("files", url="http://127.0.0.1:1/mcp")
    await store.tenant("acme").add_upstream("crm", url="http://127.0.0.1:2/mcp")
    await store.tenant("acme").add_upstream("gone", url="http://127.0.0.1:3/mcp")
    await store.tenant("acme").remove_upstream("gone")
    health = [
        UpstreamHealth(acme.id, "files", "unhealthy", "connection refused"),
        UpstreamHealth(acme.id, "crm", "ok", None, utcnow(), tools=4),
        UpstreamHealth(acme.id, "gone", "unhealthy", "stale report"),
    ]
    await store.heartbeat("r1", "http://127.0.0.1:8000", 1, health)
    report = await store.status()
    assert report.upstream_count == 2
    assert [(u.tenant_slug, u.name, u.error) for u in report.unhealthy] == [("acme", "files", "connection refused")]
    crm = next(h for h in report.replicas[0].upstreams if h.name == "crm")
    assert crm.tools == 4 and crm.last_ok_at is not None
