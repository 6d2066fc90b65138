"""Replica heartbeats and the status report built from them.

Heartbeats never bump the control version (they are not configuration). Each
adds its ``calls_routed`` delta both to its replica row and to the persistent
cumulative counter, so the total survives replica restarts and pruning.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from msplex.store.errors import InvalidInput
from msplex.store.models import CALLS_ROUTED, Connector, Counter, ReplicaStatus, Tenant, Upstream, utcnow
from msplex.store.records import (
    ReplicaRecord,
    StatusReport,
    TenantRecord,
    UnhealthyUpstream,
    UpstreamHealth,
)

__all__ = ["LIVE_WITHIN", "PRUNE_AFTER", "ReplicaMixin"]

LIVE_WITHIN = timedelta(seconds=10)
"""A replica is live while its last heartbeat is younger than this."""
PRUNE_AFTER = timedelta(days=1)
_MAX_ERROR = 500


def _health_to_json(health: UpstreamHealth) -> dict[str, Any]:
    return {
        "tenant_id": health.tenant_id,
        "name": health.name,
        "state": health.state,
        "error": health.error[:_MAX_ERROR] if health.error else None,
        "last_ok_at": health.last_ok_at.isoformat() if health.last_ok_at else None,
        "tools": health.tools,
    }


def _health_from_json(data: dict[str, Any]) -> UpstreamHealth:
    last_ok = data.get("last_ok_at")
    return UpstreamHealth(
        tenant_id=str(data.get("tenant_id", "")),
        name=str(data.get("name", "")),
        state=data.get("state", "unhealthy"),
        error=data.get("error"),
        last_ok_at=datetime.fromisoformat(last_ok) if last_ok else None,
        tools=data.get("tools"),
    )


def _replica_record(row: ReplicaStatus) -> ReplicaRecord:
    return ReplicaRecord(
        replica_id=row.replica_id,
        endpoint=row.endpoint,
        started_at=row.started_at,
        heartbeat_at=row.heartbeat_at,
        calls_routed=row.calls_routed,
        upstreams=tuple(_health_from_json(u) for u in row.upstreams or ()),
    )


class ReplicaMixin:
    _read: async_sessionmaker[AsyncSession]
    _write: async_sessionmaker[AsyncSession]

    async def heartbeat(
        self,
        replica_id: str,
        endpoint: str,
        calls_routed_delta: int,
        upstreams_health: Iterable[UpstreamHealth],
        *,
        now: datetime | None = None,
    ) -> None:
        """Record that ``replica_id`` is alive, what it routed since its last beat, and its upstreams."""
        if calls_routed_delta < 0:
            raise InvalidInput("calls_routed_delta", "must not be negative")
        if not replica_id or len(replica_id) > 64:
            raise InvalidInput("replica_id", "must be 1-64 characters")
        now = now or utcnow()
        health = [_health_to_json(h) for h in upstreams_health]
        async with self._write() as session, session.begin():
            result = await session.execute(
                sa.update(ReplicaStatus)
                .where(ReplicaStatus.replica_id == replica_id)
                .values(
                    endpoint=endpoint,
                    heartbeat_at=now,
                    calls_routed=ReplicaStatus.calls_routed + calls_routed_delta,
                    upstreams=health,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                session.add(
                    ReplicaStatus(
                        replica_id=replica_id,
                        endpoint=endpoint,
                        started_at=now,
                        heartbeat_at=now,
                        calls_routed=calls_routed_delta,
                        upstreams=health,
                    )
                )
            if calls_routed_delta:
                await session.execute(
                    sa.update(Counter)
                    .where(Counter.name == CALLS_ROUTED)
                    .values(value=Counter.value + calls_routed_delta)
                )
            await session.execute(sa.delete(ReplicaStatus).where(ReplicaStatus.heartbeat_at < now - PRUNE_AFTER))

    async def calls_routed(self) -> int:
        async with self._read() as session:
            return int(await session.scalar(sa.select(Counter.value).where(Counter.name == CALLS_ROUTED)) or 0)

    async def status(self, *, now: datetime | None = None, live_within: timedelta = LIVE_WITHIN) -> StatusReport:
        """Live replicas, tenants, connector count (enabled upstreams and vendor connectors), cumulative
        calls, unhealthy connectors."""
        now = now or utcnow()
        async with self._read() as session:
            replicas = [
                _replica_record(r)
                for r in await session.scalars(
                    sa.select(ReplicaStatus)
                    .where(ReplicaStatus.heartbeat_at >= now - live_within)
                    .order_by(ReplicaStatus.heartbeat_at.desc())
                )
            ]
            tenants = [
                TenantRecord(t.id, t.slug, t.name, t.allow_anonymous, t.created_at)
                for t in await session.scalars(sa.select(Tenant).order_by(Tenant.slug))
            ]
            registered = await session.execute(sa.select(Upstream.tenant_id, Upstream.name).where(Upstream.enabled))
            existing = {(tenant_id, name) for tenant_id, name in registered}
            vendors = await session.execute(sa.select(Connector.tenant_id, Connector.name))
            existing |= {(tenant_id, name) for tenant_id, name in vendors}
            total = await session.scalar(sa.select(Counter.value).where(Counter.name == CALLS_ROUTED))
        slugs = {t.id: t.slug for t in tenants}
        unhealthy: dict[tuple[str, str], UnhealthyUpstream] = {}
        for replica in replicas:  # newest heartbeat first: its report wins
            for h in replica.upstreams:
                key = (h.tenant_id, h.name)
                if h.state not in ("ok", "starting") and key in existing and key not in unhealthy:
                    unhealthy[key] = UnhealthyUpstream(slugs[h.tenant_id], h.name, h.error, replica.replica_id)
        return StatusReport(
            operational=bool(replicas),
            replicas=tuple(replicas),
            tenants=tuple(tenants),
            upstream_count=len(existing),
            calls_routed=int(total or 0),
            unhealthy=tuple(sorted(unhealthy.values(), key=lambda u: (u.tenant_slug, u.name))),
            tenants_with_connectors=len({tenant_id for tenant_id, _ in existing}),
            connectors_by_tenant={t.slug: sum(1 for tid, _ in existing if tid == t.id) for t in tenants},
        )
