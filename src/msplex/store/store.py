"""The store's one entry point: tenants, operator tokens, the control version and snapshot.

Contract:

* What a tenant owns is reached only through ``Store.tenant(slug)`` (``TenantStore``),
  which filters every query by the tenant it resolved in the same transaction.
* Every mutation starts by bumping ``control_state.version`` in its own
  transaction. Doing it first takes the write lock before any read, which
  serializes mutations on both backends (no read-then-write races) and lets
  replicas detect a change with one cheap poll.
* Upstream headers are sealed with the keyring, bound (AAD) to their tenant
  and upstream row, so a ciphertext copied to another row does not open.
* Only SHA-256 hashes of tokens are stored; the plaintext is returned once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from msplex.crypto import InvalidCiphertext, Keyring
from msplex.store import validation
from msplex.store.ended_sessions import SessionMixin
from msplex.store.engine import IMMEDIATE, make_engine, migrate
from msplex.store.errors import AlreadyExists, Conflict, NotFound, SecretUnavailable
from msplex.store.models import ApiToken, ControlState, Tenant, Upstream, utcnow
from msplex.store.records import ControlSnapshot, TenantRecord, TokenRecord, UpstreamEntry, hash_token
from msplex.store.replicas import ReplicaMixin
from msplex.store.snapshot import load_snapshot
from msplex.store.tenant import TenantStore, _new_id, env_aad, headers_aad, new_token, token_record, upstream_spec
from msplex.vault.keys import VaultKeys

if TYPE_CHECKING:
    from msplex.settings import Settings

__all__ = ["Store"]

log = logging.getLogger(__name__)

_DISPLAY_LEN = 12


def _tenant_record(row: Tenant) -> TenantRecord:
    return TenantRecord(row.id, row.slug, row.name, row.allow_anonymous, row.created_at)


class Store(ReplicaMixin, SessionMixin):
    """Async repository over one engine; safe to share across tasks."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring, vault: VaultKeys | None = None) -> None:
        self.engine = engine
        self.keyring = keyring
        self.vault = vault or VaultKeys(keyring)
        """Seals connector credentials (``MSPLEX_VAULT_KEY`` or ``home/vault.key``)."""
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        self._write = async_sessionmaker(engine.execution_options(**IMMEDIATE), expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        settings.ensure_home()
        return cls(make_engine(settings.database_url), Keyring.load(settings), VaultKeys.load(settings))

    async def close(self) -> None:
        await self.engine.dispose()

    async def migrate(self) -> None:
        await migrate(self.engine)

    def reader(self) -> AsyncSession:
        return self._read()

    @asynccontextmanager
    async def mutation(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that first bumps the control version (see module docstring)."""
        try:
            async with self._write() as session, session.begin():
                await session.execute(
                    sa.update(ControlState).where(ControlState.id == 1).values(version=ControlState.version + 1)
                )
                yield session
        except IntegrityError as exc:  # a concurrent writer won a race the explicit checks could not see
            raise Conflict() from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that leaves the control version alone: for records that are not configuration
        (approval requests), which no replica reloads as part of a snapshot."""
        async with self._write() as session, session.begin():
            yield session

    def tenant(self, slug: str) -> TenantStore:
        """Everything tenant ``slug`` owns (the slug is resolved by each operation)."""
        return TenantStore(self, slug)

    # Tenants (the platform operator's)

    async def create_tenant(self, slug: str, name: str | None = None, allow_anonymous: bool = False) -> TenantRecord:
        validation.check_slug(slug)
        display = validation.check_display_name(name or slug, "tenant name")
        async with self.mutation() as session:
            if await session.scalar(sa.select(Tenant.id).where(Tenant.slug == slug)) is not None:
                raise AlreadyExists("tenant", slug)
            row = Tenant(id=_new_id(), slug=slug, name=display, allow_anonymous=allow_anonymous, created_at=utcnow())
            session.add(row)
        return _tenant_record(row)

    async def get_tenant(self, slug: str) -> TenantRecord:
        async with self._read() as session:
            row = await session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
            if row is None:
                raise NotFound("tenant", slug)
            return _tenant_record(row)

    async def list_tenants(self) -> list[TenantRecord]:
        async with self._read() as session:
            rows = await session.scalars(sa.select(Tenant).order_by(Tenant.slug))
            return [_tenant_record(r) for r in rows]

    # Operator tokens: no tenant, the admin API across tenants

    async def create_operator_token(self, name: str | None = None) -> tuple[str, TokenRecord]:
        label = validation.check_display_name(name or "operator", "token name")
        plaintext = new_token()
        async with self.mutation() as session:
            row = ApiToken(
                id=_new_id(),
                tenant_id=None,
                name=label,
                token_hash=hash_token(plaintext),
                prefix=plaintext[:_DISPLAY_LEN],
                role="admin",
                created_at=utcnow(),
            )
            session.add(row)
        return plaintext, token_record(row)

    async def list_operator_tokens(self) -> list[TokenRecord]:
        async with self._read() as session:
            rows = await session.scalars(
                sa.select(ApiToken).where(ApiToken.tenant_id.is_(None)).order_by(ApiToken.created_at, ApiToken.id)
            )
            return [token_record(r) for r in rows]

    async def revoke_operator_token(self, token_id: str) -> TokenRecord:
        key = token_id.removesuffix("…").removesuffix("...")
        async with self.mutation() as session:
            rows = list(
                await session.scalars(
                    sa.select(ApiToken).where(
                        ApiToken.tenant_id.is_(None), sa.or_(ApiToken.id == key, ApiToken.prefix == key)
                    )
                )
            )
            if len(rows) != 1:
                raise NotFound("operator token", token_id)
            if rows[0].revoked_at is None:
                rows[0].revoked_at = utcnow()
        return token_record(rows[0])

    async def tokens_used(self, last_used: Iterable[tuple[str, datetime]]) -> None:
        """Record when tokens were last used (batched by the gateway; not configuration, so no version bump)."""
        async with self._write() as session, session.begin():
            for token_id, when in last_used:
                await session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when))

    # Upstream secrets, for the tenant store and the snapshot

    def upstream_headers(self, row: Upstream, tenant_slug: str) -> dict[str, str]:
        if row.headers_enc is None:
            return {}
        try:
            plain = self.keyring.decrypt(row.headers_enc, aad=headers_aad(row.tenant_id, row.id))
        except InvalidCiphertext:
            raise SecretUnavailable(tenant_slug, row.name) from None
        headers: dict[str, str] = json.loads(plain)
        return headers

    def upstream_env(self, row: Upstream, tenant_slug: str) -> dict[str, str]:
        """A stdio upstream's secret environment, opened from the vault."""
        if row.env_enc is None:
            return {}
        try:
            plain = self.vault.open(row.env_enc, aad=env_aad(row.tenant_id, row.id))
        except InvalidCiphertext:
            raise SecretUnavailable(tenant_slug, row.name) from None
        env: dict[str, str] = json.loads(plain)
        return env

    def upstream_entry(self, row: Upstream, tenant_slug: str) -> UpstreamEntry:
        headers = tuple(self.upstream_headers(row, tenant_slug).items())
        spec = replace(upstream_spec(row), env=tuple(self.upstream_env(row, tenant_slug).items()))
        return UpstreamEntry(id=row.id, spec=spec, prefix=row.prefix, created_at=row.created_at, headers=headers)

    # Control plane

    async def control_version(self) -> int:
        async with self._read() as session:
            version = await session.scalar(sa.select(ControlState.version).where(ControlState.id == 1))
            return int(version or 0)

    async def load_snapshot(self) -> ControlSnapshot:
        """Everything a replica routes and authorizes with, in one read transaction."""
        async with self._read() as session:
            return await load_snapshot(session, self)
