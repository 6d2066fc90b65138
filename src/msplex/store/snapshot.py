"""The control-plane snapshot: everything a replica routes and authorizes with, read in one pass.

It is the one reader of tenant-owned tables outside ``TenantStore``: it reads
every tenant at once and keys all it loads by tenant, so nothing of one tenant
can be looked up under another. The version is read first, so the data is never
older than it. It holds decrypted upstream headers: memory only, never logged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from types import MappingProxyType
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from msplex.store.connectors import ConnectorSecretUnavailable, customer_maps, open_entry
from msplex.store.errors import SecretUnavailable
from msplex.store.models import (
    ApiToken,
    Connector,
    ControlState,
    Customer,
    Entity,
    ItemRule,
    OidcProvider,
    Tenant,
    Upstream,
)
from msplex.store.records import (
    ConnectorEntry,
    ControlSnapshot,
    ItemRuleRecord,
    TenantRecord,
    TokenEntry,
    UpstreamEntry,
)
from msplex.store.tenant import customer_record, entity_record, oidc_record, rule_record

if TYPE_CHECKING:
    from msplex.store.store import Store

__all__ = ["load_snapshot"]

log = logging.getLogger("msplex.store")


async def load_snapshot(session: AsyncSession, store: Store) -> ControlSnapshot:
    version = await session.scalar(sa.select(ControlState.version).where(ControlState.id == 1))
    tenants = [
        TenantRecord(r.id, r.slug, r.name, r.allow_anonymous, r.created_at)
        for r in await session.scalars(sa.select(Tenant))
    ]
    by_id = {t.id: t for t in tenants}
    upstreams: dict[str, list[UpstreamEntry]] = defaultdict(list)
    rows = await session.scalars(sa.select(Upstream).where(Upstream.enabled).order_by(Upstream.created_at, Upstream.id))
    for row in rows:
        try:
            upstreams[row.tenant_id].append(store.upstream_entry(row, by_id[row.tenant_id].slug))
        except SecretUnavailable as exc:
            log.error("skipping upstream: %s", exc.message)
    tokens = {
        row.token_hash: TokenEntry(
            tenant_id=row.tenant_id,
            token_id=row.id,
            role=row.role if row.tenant_id is not None else None,  # type: ignore[arg-type]
            customer_id=row.customer_id,
            tools=tuple(row.tools) if row.tools is not None else None,
            expires_at=row.expires_at.timestamp() if row.expires_at is not None else None,
        )
        for row in await session.scalars(sa.select(ApiToken).where(ApiToken.revoked_at.is_(None)))
    }
    customers = {row.id: customer_record(row) for row in await session.scalars(sa.select(Customer))}
    rules: dict[str, list[ItemRuleRecord]] = defaultdict(list)
    for rule in await session.scalars(sa.select(ItemRule).order_by(ItemRule.seq)):
        rules[rule.tenant_id].append(rule_record(rule))
    entities = {row.slug: entity_record(row) for row in await session.scalars(sa.select(Entity))}
    oidc = {row.tenant_id: oidc_record(row) for row in await session.scalars(sa.select(OidcProvider))}
    connectors: dict[str, list[ConnectorEntry]] = defaultdict(list)
    maps = await customer_maps(session)
    for conn in await session.scalars(sa.select(Connector).order_by(Connector.created_at, Connector.id)):
        try:
            entry = open_entry(store, conn, by_id[conn.tenant_id].slug, maps.get(conn.id, ({}, {})))
        except ConnectorSecretUnavailable as exc:
            log.error("skipping connector: %s", exc.message)
            continue
        connectors[conn.tenant_id].append(entry)
    return ControlSnapshot(
        version=int(version or 0),
        tenants=MappingProxyType({t.slug: t for t in tenants}),
        tenants_by_id=MappingProxyType(by_id),
        upstreams=MappingProxyType({k: tuple(v) for k, v in upstreams.items()}),
        tokens=MappingProxyType(tokens),
        customers=MappingProxyType(customers),
        rules=MappingProxyType({k: tuple(v) for k, v in rules.items()}),
        entities=MappingProxyType(entities),
        oidc=MappingProxyType(oidc),
        connectors=MappingProxyType({k: tuple(v) for k, v in connectors.items()}),
    )
