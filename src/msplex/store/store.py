"""The store's one entry point: tenants, upstreams, tokens, the control version.

Contract:

* Every tenant-owned operation takes the tenant slug and resolves it inside
  the same transaction; a name is only ever looked up within that tenant.
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
import secrets
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from msplex.crypto import InvalidCiphertext, Keyring
from msplex.store import validation
from msplex.store.ended_sessions import SessionMixin
from msplex.store.engine import IMMEDIATE, make_engine, migrate
from msplex.store.errors import AlreadyExists, Conflict, InvalidInput, NotFound, StoreError
from msplex.store.models import ApiToken, ControlState, Tenant, Upstream, utcnow
from msplex.store.records import (
    ControlSnapshot,
    TenantRecord,
    TokenEntry,
    TokenRecord,
    UpstreamEntry,
    UpstreamRecord,
    hash_token,
)
from msplex.store.replicas import ReplicaMixin
from msplex.upstream.base import UpstreamSpec

if TYPE_CHECKING:
    from msplex.settings import Settings

__all__ = ["TOKEN_PREFIX", "SecretUnavailable", "Store"]

log = logging.getLogger(__name__)

TOKEN_PREFIX = "mspx_"
_DISPLAY_LEN = 12


class SecretUnavailable(StoreError):
    def __init__(self, tenant: str, upstream: str) -> None:
        super().__init__(
            f"the headers of upstream '{upstream}' in tenant '{tenant}' cannot be decrypted with the "
            "configured keys; put the old key back into MSPLEX_SECRET_KEY after the primary, "
            "or remove and re-add the upstream"
        )


def _new_id() -> str:
    return str(uuid.uuid4())


def _headers_aad(tenant_id: str, upstream_id: str) -> bytes:
    return f"msplex/upstream-headers\x00{tenant_id}\x00{upstream_id}".encode()


def _tenant_record(row: Tenant) -> TenantRecord:
    return TenantRecord(row.id, row.slug, row.name, row.allow_anonymous, row.created_at)


def _token_record(row: ApiToken) -> TokenRecord:
    return TokenRecord(row.id, row.tenant_id, row.name, row.prefix, row.created_at, row.revoked_at)


class Store(ReplicaMixin, SessionMixin):
    """Async repository over one engine; safe to share across tasks."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring) -> None:
        self.engine = engine
        self._keyring = keyring
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        self._write = async_sessionmaker(engine.execution_options(**IMMEDIATE), expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        settings.ensure_home()
        return cls(make_engine(settings.database_url), Keyring.load(settings))

    async def close(self) -> None:
        await self.engine.dispose()

    async def migrate(self) -> None:
        await migrate(self.engine)

    @asynccontextmanager
    async def _mutation(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._write() as session, session.begin():
                await session.execute(
                    sa.update(ControlState).where(ControlState.id == 1).values(version=ControlState.version + 1)
                )
                yield session
        except IntegrityError as exc:  # a concurrent writer won a race the explicit checks could not see
            raise Conflict() from exc

    @staticmethod
    async def _tenant(session: AsyncSession, slug: str) -> Tenant:
        row = await session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
        if row is None:
            raise NotFound("tenant", slug)
        return row

    # Tenants

    async def create_tenant(self, slug: str, name: str | None = None, allow_anonymous: bool = False) -> TenantRecord:
        validation.check_slug(slug)
        display = (name or slug).strip()
        if not display or len(display) > 200:
            raise InvalidInput("tenant name", "must be 1-200 characters")
        async with self._mutation() as session:
            if await session.scalar(sa.select(Tenant.id).where(Tenant.slug == slug)) is not None:
                raise AlreadyExists("tenant", slug)
            row = Tenant(id=_new_id(), slug=slug, name=display, allow_anonymous=allow_anonymous, created_at=utcnow())
            session.add(row)
        return _tenant_record(row)

    async def get_tenant(self, slug: str) -> TenantRecord:
        async with self._read() as session:
            return _tenant_record(await self._tenant(session, slug))

    async def list_tenants(self) -> list[TenantRecord]:
        async with self._read() as session:
            rows = await session.scalars(sa.select(Tenant).order_by(Tenant.slug))
            return [_tenant_record(r) for r in rows]

    # Upstreams

    async def add_upstream(
        self,
        tenant_slug: str,
        name: str,
        *,
        url: str | None = None,
        command: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        prefix: bool = True,
    ) -> UpstreamRecord:
        validation.check_upstream_name(name)
        if (url is None) == (command is None):
            raise InvalidInput("upstream", "give exactly one of a URL or a command")
        argv = validation.check_command(command) if command is not None else None
        if url is not None:
            validation.check_url(url)
        header_map = validation.check_headers(headers or {})
        async with self._mutation() as session:
            tenant = await self._tenant(session, tenant_slug)
            taken = await session.scalar(
                sa.select(Upstream.id).where(Upstream.tenant_id == tenant.id, Upstream.name == name)
            )
            if taken is not None:
                raise AlreadyExists("upstream", name, tenant=tenant_slug)
            row = Upstream(
                id=_new_id(),
                tenant_id=tenant.id,
                name=name,
                transport="http" if url is not None else "stdio",
                url=url,
                command=argv,
                prefix=prefix,
                enabled=True,
                created_at=utcnow(),
            )
            if header_map:
                row.headers_enc = self._keyring.encrypt(
                    json.dumps(header_map).encode(), aad=_headers_aad(tenant.id, row.id)
                )
            session.add(row)
        return self._upstream_record(row, tenant_slug, tuple(header_map))

    async def list_upstreams(self, tenant_slug: str) -> list[UpstreamRecord]:
        async with self._read() as session:
            tenant = await self._tenant(session, tenant_slug)
            rows = await session.scalars(self._upstreams_of(tenant.id))
            return [self._upstream_record(r, tenant_slug) for r in rows]

    async def upstream_entries(self, tenant_slug: str) -> list[UpstreamEntry]:
        """The tenant's enabled upstreams with decrypted headers, in registration order."""
        async with self._read() as session:
            tenant = await self._tenant(session, tenant_slug)
            rows = await session.scalars(self._upstreams_of(tenant.id).where(Upstream.enabled))
            return [self._entry(r, tenant_slug) for r in rows]

    async def remove_upstream(self, tenant_slug: str, name: str) -> None:
        async with self._mutation() as session:
            tenant = await self._tenant(session, tenant_slug)
            result = await session.execute(
                sa.delete(Upstream).where(Upstream.tenant_id == tenant.id, Upstream.name == name)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("upstream", name, tenant=tenant_slug)

    @staticmethod
    def _upstreams_of(tenant_id: str) -> sa.Select[Upstream]:
        return sa.select(Upstream).where(Upstream.tenant_id == tenant_id).order_by(Upstream.created_at, Upstream.id)

    def _headers(self, row: Upstream, tenant_slug: str) -> dict[str, str]:
        if row.headers_enc is None:
            return {}
        try:
            plain = self._keyring.decrypt(row.headers_enc, aad=_headers_aad(row.tenant_id, row.id))
        except InvalidCiphertext:
            raise SecretUnavailable(tenant_slug, row.name) from None
        headers: dict[str, str] = json.loads(plain)
        return headers

    def _upstream_record(
        self, row: Upstream, tenant_slug: str, header_names: tuple[str, ...] | None = None
    ) -> UpstreamRecord:
        if header_names is None:
            header_names = tuple(self._headers(row, tenant_slug))
        return UpstreamRecord(
            id=row.id,
            tenant_id=row.tenant_id,
            name=row.name,
            transport="http" if row.transport == "http" else "stdio",
            url=row.url,
            command=tuple(row.command or ()),
            header_names=header_names,
            prefix=row.prefix,
            enabled=row.enabled,
            created_at=row.created_at,
        )

    def _entry(self, row: Upstream, tenant_slug: str) -> UpstreamEntry:
        spec = UpstreamSpec(
            tenant_id=row.tenant_id,
            name=row.name,
            transport="http" if row.transport == "http" else "stdio",
            url=row.url,
            command=tuple(row.command or ()),
        )
        headers = tuple(self._headers(row, tenant_slug).items())
        return UpstreamEntry(id=row.id, spec=spec, prefix=row.prefix, created_at=row.created_at, headers=headers)

    # Tokens

    async def create_token(self, tenant_slug: str, name: str | None = None) -> tuple[str, TokenRecord]:
        """A new bearer token for the tenant: ``(plaintext, record)``; the plaintext is not kept."""
        label = (name or "default").strip()
        if not label or len(label) > 200:
            raise InvalidInput("token name", "must be 1-200 characters")
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(30)
        async with self._mutation() as session:
            tenant = await self._tenant(session, tenant_slug)
            row = ApiToken(
                id=_new_id(),
                tenant_id=tenant.id,
                name=label,
                token_hash=hash_token(plaintext),
                prefix=plaintext[:_DISPLAY_LEN],
                created_at=utcnow(),
                revoked_at=None,
            )
            session.add(row)
        return plaintext, _token_record(row)

    async def list_tokens(self, tenant_slug: str) -> list[TokenRecord]:
        async with self._read() as session:
            tenant = await self._tenant(session, tenant_slug)
            rows = await session.scalars(
                sa.select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.created_at, ApiToken.id)
            )
            return [_token_record(r) for r in rows]

    async def revoke_token(self, tenant_slug: str, token_id: str) -> TokenRecord:
        """Revoke by id or display prefix; revoking twice is a no-op that keeps the first time."""
        async with self._mutation() as session:
            tenant = await self._tenant(session, tenant_slug)
            rows = list(
                await session.scalars(
                    sa.select(ApiToken).where(
                        ApiToken.tenant_id == tenant.id,
                        sa.or_(ApiToken.id == token_id, ApiToken.prefix == token_id),
                    )
                )
            )
            if len(rows) != 1:
                raise NotFound("token", token_id, tenant=tenant_slug)
            row = rows[0]
            if row.revoked_at is None:
                row.revoked_at = utcnow()
        return _token_record(row)

    # Control plane

    async def control_version(self) -> int:
        async with self._read() as session:
            version = await session.scalar(sa.select(ControlState.version).where(ControlState.id == 1))
            return int(version or 0)

    async def load_snapshot(self) -> ControlSnapshot:
        """Everything routing needs. The version is read first, so the data is never older than it."""
        async with self._read() as session:
            version = await session.scalar(sa.select(ControlState.version).where(ControlState.id == 1))
            tenants = [_tenant_record(r) for r in await session.scalars(sa.select(Tenant))]
            by_id = {t.id: t for t in tenants}
            upstreams: dict[str, list[UpstreamEntry]] = {}
            rows = await session.scalars(
                sa.select(Upstream).where(Upstream.enabled).order_by(Upstream.created_at, Upstream.id)
            )
            for row in rows:
                slug = by_id[row.tenant_id].slug
                try:
                    upstreams.setdefault(row.tenant_id, []).append(self._entry(row, slug))
                except SecretUnavailable as exc:
                    log.error("skipping upstream: %s", exc.message)
            tokens = await session.execute(
                sa.select(ApiToken.token_hash, ApiToken.tenant_id, ApiToken.id).where(ApiToken.revoked_at.is_(None))
            )
            return ControlSnapshot(
                version=int(version or 0),
                tenants=MappingProxyType({t.slug: t for t in tenants}),
                tenants_by_id=MappingProxyType(by_id),
                upstreams=MappingProxyType({k: tuple(v) for k, v in upstreams.items()}),
                tokens=MappingProxyType({h: TokenEntry(tenant_id=t, token_id=i) for h, t, i in tokens}),
            )
