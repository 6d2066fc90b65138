"""Vendor connector instances and customers' vendor ids: one tenant's, through ``TenantStore``.

Reached as ``Store.tenant(slug).connectors``; every query is keyed by the tenant the slug resolves
to in the same transaction. Secrets are sealed by the vault (``Store.vault``) and bound (AAD) to
tenant, row and purpose, so an envelope copied to another row or column does not open. Records
name which secret fields are set, never their values. A token renewal is not configuration: it
is written without bumping the control version (``Store.transaction``), so replicas do not
reload their snapshot for it; they read the token store under the renewal lock instead.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from msplex.crypto import InvalidCiphertext
from msplex.store import validation
from msplex.store.errors import AlreadyExists, InvalidInput, NotFound, StoreError
from msplex.store.models import Connector, Customer, CustomerVendorId, Tenant, Upstream, utcnow
from msplex.store.records import ConnectorEntry, ConnectorRecord

if TYPE_CHECKING:
    from msplex.store.store import Store
    from msplex.store.tenant import TenantStore

__all__ = [
    "ConnectorSecretUnavailable",
    "StoredToken",
    "TenantConnectors",
    "connector_aad",
    "customer_maps",
    "open_entry",
    "reseal_all",
]

_VENDOR_ID = 64


class ConnectorSecretUnavailable(StoreError):
    def __init__(self, tenant: str, name: str) -> None:
        super().__init__(
            f"the credentials of connector '{name}' in tenant '{tenant}' cannot be opened with the vault's keys; "
            "put the old key back into MSPLEX_VAULT_KEY after the primary, or run `msplex connect` again"
        )


def connector_aad(tenant_id: str, row_id: str, purpose: str) -> bytes:
    return f"msplex/connector:{tenant_id}:{row_id}:{purpose}".encode()


Maps = dict[str, tuple[dict[str, str], dict[str, str]]]
"""Per connector id: (customer slug -> vendor id, customer id -> slug)."""
_NONE: tuple[dict[str, str], dict[str, str]] = ({}, {})


def _record(row: Connector, customers: tuple[dict[str, str], dict[str, str]]) -> ConnectorRecord:
    return ConnectorRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        kind=row.kind,
        base_url=row.base_url,
        token_url=row.token_url,
        settings=dict(row.settings or {}),
        secret_fields=tuple(row.secret_fields or ()),
        customers=dict(customers[0]),
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer_slugs=dict(customers[1]),
    )


def open_entry(
    store: Store, row: Connector, tenant_slug: str, customers: tuple[dict[str, str], dict[str, str]]
) -> ConnectorEntry:
    try:
        plain = store.vault.open(row.secrets_enc, aad=connector_aad(row.tenant_id, row.id, "secrets"))
    except InvalidCiphertext:
        raise ConnectorSecretUnavailable(tenant_slug, row.name) from None
    return ConnectorEntry(_record(row, customers), orjson.loads(plain))


async def customer_maps(session: AsyncSession, tenant_ids: Iterable[str] | None = None) -> Maps:
    """Customers' vendor ids per connector (of the given tenants, or all)."""
    query = sa.select(CustomerVendorId.connector_id, Customer.id, Customer.slug, CustomerVendorId.vendor_id).join(
        Customer, Customer.id == CustomerVendorId.customer_id
    )
    if tenant_ids is not None:
        query = query.where(CustomerVendorId.tenant_id.in_(list(tenant_ids)))
    out: Maps = {}
    for connector_id, customer_id, slug, vendor_id in await session.execute(query):
        by_slug, slugs = out.setdefault(connector_id, ({}, {}))
        by_slug[slug] = vendor_id
        slugs[customer_id] = slug
    return out


class TenantConnectors:
    def __init__(self, store: Store, tenant: TenantStore) -> None:
        self._store = store
        self._tenant = tenant

    async def _row(self, session: AsyncSession, tenant: Tenant, name: str) -> Connector:
        row = await session.scalar(self._tenant._owned(tenant, Connector).where(Connector.name == name))
        if row is None:
            raise NotFound("connector", name, tenant=self._tenant.slug)
        return row

    def _seal(self, row: Connector, purpose: str, value: Any) -> str:
        return self._store.vault.seal(orjson.dumps(value), aad=connector_aad(row.tenant_id, row.id, purpose))

    async def save(
        self,
        name: str,
        *,
        kind: str,
        base_url: str,
        token_url: str | None,
        settings: Mapping[str, str],
        secrets: Mapping[str, str],
    ) -> tuple[ConnectorRecord, bool]:
        """Create ``name`` or replace its settings; secret fields given replace those stored, the others
        stay. Returns the record and whether it was created. Changing where or how it authenticates
        forgets the cached token."""
        validation.check_upstream_name(name)
        validation.check_url(base_url, "base URL")
        if token_url:
            validation.check_url(token_url, "token URL")
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            upstream = await session.scalar(self._tenant._owned(tenant, Upstream).where(Upstream.name == name))
            if upstream is not None:
                raise AlreadyExists("upstream", name, tenant=self._tenant.slug)
            row = await session.scalar(self._tenant._owned(tenant, Connector).where(Connector.name == name))
            created = row is None
            now = utcnow()
            if row is None:
                row = Connector(id=str(uuid.uuid4()), tenant_id=tenant.id, name=name, kind=kind, created_at=now)
                old: dict[str, str] = {}
            elif row.kind != kind:
                raise InvalidInput("vendor", f"connector '{name}' is a {row.kind} connector, not {kind}")
            else:
                old = orjson.loads(
                    self._store.vault.open(row.secrets_enc, aad=connector_aad(tenant.id, row.id, "secrets"))
                )
            merged = {**old, **{k: v for k, v in secrets.items() if v}}
            if (
                created
                or merged != old
                or row.base_url != base_url
                or row.token_url != token_url
                or dict(row.settings or {}) != dict(settings)
            ):
                row.token_enc = None
            row.base_url, row.token_url, row.settings = base_url, token_url, dict(settings)
            row.secret_fields = sorted(merged)
            row.secrets_enc = self._seal(row, "secrets", merged)
            row.updated_at = now
            if created:
                session.add(row)
            maps = await customer_maps(session, [tenant.id])
        return _record(row, maps.get(row.id, _NONE)), created

    async def list(self) -> list[ConnectorRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant._tenant(session)
            rows = await session.scalars(
                self._tenant._owned(tenant, Connector).order_by(Connector.created_at, Connector.id)
            )
            maps = await customer_maps(session, [tenant.id])
            return [_record(r, maps.get(r.id, _NONE)) for r in rows]

    async def get(self, name: str) -> ConnectorRecord:
        async with self._store.reader() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            maps = await customer_maps(session, [tenant.id])
            return _record(row, maps.get(row.id, _NONE))

    async def entry(self, name: str) -> ConnectorEntry:
        """The instance with its opened secrets: for the gateway and ``msplex connect``'s validation only."""
        async with self._store.reader() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            maps = await customer_maps(session, [tenant.id])
            return open_entry(self._store, row, self._tenant.slug, maps.get(row.id, _NONE))

    async def remove(self, name: str) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            await session.execute(sa.delete(CustomerVendorId).where(CustomerVendorId.connector_id == row.id))
            await session.delete(row)

    # customers' vendor ids -------------------------------------------------------------------------

    async def map_customer(self, customer: str, name: str, vendor_id: str) -> ConnectorRecord:
        vendor_id = vendor_id.strip()
        if not vendor_id or len(vendor_id) > _VENDOR_ID or any(c in vendor_id for c in "\r\n\x00"):
            raise InvalidInput("vendor id", f"must be 1-{_VENDOR_ID} characters on one line")
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            cust = await self._tenant._customer(session, tenant, customer)
            owned = self._tenant._owned(tenant, CustomerVendorId).where(CustomerVendorId.connector_id == row.id)
            taken = await session.scalar(owned.where(CustomerVendorId.vendor_id == vendor_id))
            if taken is not None and taken.customer_id != cust.id:
                holder = await session.scalar(sa.select(Customer.slug).where(Customer.id == taken.customer_id))
                raise InvalidInput("vendor id", f"{vendor_id} on connector '{name}' is already mapped to '{holder}'")
            mapping = await session.scalar(owned.where(CustomerVendorId.customer_id == cust.id))
            if mapping is None:
                session.add(
                    CustomerVendorId(
                        id=str(uuid.uuid4()),
                        tenant_id=tenant.id,
                        connector_id=row.id,
                        customer_id=cust.id,
                        vendor_id=vendor_id,
                        created_at=utcnow(),
                    )
                )
            else:
                mapping.vendor_id = vendor_id
            await session.flush()
            maps = await customer_maps(session, [tenant.id])
        return _record(row, maps.get(row.id, _NONE))

    async def unmap_customer(self, customer: str, name: str) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            cust = await self._tenant._customer(session, tenant, customer)
            result = await session.execute(
                sa.delete(CustomerVendorId).where(
                    CustomerVendorId.tenant_id == tenant.id,
                    CustomerVendorId.connector_id == row.id,
                    CustomerVendorId.customer_id == cust.id,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("mapping of customer", customer, tenant=self._tenant.slug)

    # the token cache ---------------------------------------------------------------------------------

    async def load_token(self, name: str) -> dict[str, Any] | None:
        async with self._store.reader() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            if row.token_enc is None:
                return None
            try:
                plain = self._store.vault.open(row.token_enc, aad=connector_aad(tenant.id, row.id, "token"))
            except InvalidCiphertext:
                return None  # a token is only a cache: renew it
            token: dict[str, Any] = orjson.loads(plain)
            return token

    async def save_token(self, name: str, token: Mapping[str, Any]) -> None:
        async with self._store.transaction() as session:
            tenant = await self._tenant._tenant(session)
            row = await self._row(session, tenant, name)
            row.token_enc = self._seal(row, "token", dict(token))


async def reseal_all(store: Store) -> tuple[int, int]:
    """Re-seal every vault envelope (connector secrets and tokens, stdio upstreams' environments) under the
    vault's primary key: ``(rows resealed, rows already current)``. Row by row, each in its own transaction,
    so a live gateway keeps serving throughout."""
    from msplex.store.tenant import env_aad

    jobs: list[tuple[type[Connector] | type[Upstream], str, list[tuple[str, str]]]] = []
    async with store.reader() as session:
        for row_id in await session.scalars(sa.select(Connector.id)):
            jobs.append((Connector, row_id, [("secrets", "secrets_enc"), ("token", "token_enc")]))
        for row_id in await session.scalars(sa.select(Upstream.id).where(Upstream.env_enc.is_not(None))):
            jobs.append((Upstream, row_id, [("env", "env_enc")]))
    resealed = current = 0
    for model, row_id, columns in jobs:
        async with store.transaction() as session:
            row: Connector | Upstream | None = await session.get(model, row_id)
            if row is None:
                continue
            changed = False
            for purpose, column in columns:
                sealed = getattr(row, column)
                if sealed is None or store.vault.sealed_by_primary(sealed):
                    continue
                if isinstance(row, Upstream):
                    aad = env_aad(row.tenant_id, row.id)
                else:
                    aad = connector_aad(row.tenant_id, row.id, purpose)
                setattr(row, column, store.vault.seal(store.vault.open(sealed, aad=aad), aad=aad))
                changed = True
            resealed, current = (resealed + 1, current) if changed else (resealed, current + 1)
    return resealed, current


class StoredToken:
    """An instance's OAuth token cache in the database (the vault's ``TokenStore``)."""

    def __init__(self, store: Store, tenant: str, name: str) -> None:
        self._connectors = store.tenant(tenant).connectors
        self._name = name

    async def load(self) -> dict[str, Any] | None:
        try:
            return await self._connectors.load_token(self._name)
        except NotFound:
            return None

    async def save(self, token: dict[str, Any]) -> None:
        with contextlib.suppress(NotFound):  # removed meanwhile: the token dies with it
            await self._connectors.save_token(self._name, token)
