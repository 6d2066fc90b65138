"""``TenantStore``: everything one tenant owns, and the only code that reads or writes it.

Obtained from ``Store.tenant(slug)``. Each operation resolves the slug inside
its own transaction and builds every query of a tenant-owned table through
``_owned``, which adds ``tenant_id = <this tenant>``: a query that forgets the
tenant cannot be written here, and tenant-owned tables are queried nowhere
else (the control-plane snapshot, which reads every tenant at once, is the one
reader outside, and it keys what it loads by tenant).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from msplex.store import validation
from msplex.store.errors import AlreadyExists, InvalidInput, NotFound
from msplex.store.models import (
    ApiToken,
    Customer,
    Entity,
    ItemRule,
    OidcProvider,
    Tenant,
    TenantOwned,
    Upstream,
    utcnow,
)
from msplex.store.records import (
    AUDIENCES,
    ITEM_KINDS,
    ROLES,
    Audience,
    CustomerRecord,
    EntityRecord,
    ItemKind,
    ItemRuleRecord,
    OidcProviderRecord,
    Role,
    TokenRecord,
    UpstreamEntry,
    UpstreamRecord,
    hash_token,
)
from msplex.upstream.base import UpstreamSpec

if TYPE_CHECKING:
    from msplex.store.approvals import TenantApprovals
    from msplex.store.connectors import TenantConnectors
    from msplex.store.store import Store

__all__ = [
    "TOKEN_PREFIX",
    "TenantStore",
    "customer_record",
    "entity_record",
    "env_aad",
    "headers_aad",
    "new_token",
    "oidc_record",
    "rule_record",
    "token_record",
    "upstream_spec",
]

TOKEN_PREFIX = "mspx_"
_DISPLAY_LEN = 12
M = TypeVar("M", bound=TenantOwned)


def _new_id() -> str:
    return str(uuid.uuid4())


def env_aad(tenant_id: str, upstream_id: str) -> bytes:
    return f"msplex/upstream-env:{tenant_id}:{upstream_id}".encode()


def headers_aad(tenant_id: str, upstream_id: str) -> bytes:
    return f"msplex/upstream-headers\x00{tenant_id}\x00{upstream_id}".encode()


def customer_record(row: Customer) -> CustomerRecord:
    return CustomerRecord(row.id, row.tenant_id, row.slug, row.name, row.created_at)


def token_record(row: ApiToken, customer: str | None = None) -> TokenRecord:
    role: Role | None = None if row.tenant_id is None else row.role  # type: ignore[assignment]
    tools = tuple(row.tools) if row.tools is not None else None
    return TokenRecord(
        row.id, row.tenant_id, row.name, row.prefix, row.created_at, row.revoked_at,
        role, customer, tools, row.expires_at, row.last_used_at,
    )  # fmt: skip


def entity_record(row: Entity) -> EntityRecord:
    return EntityRecord(
        row.id, row.tenant_id, row.slug, row.name, row.title, row.description, row.icon_url,
        row.website_url, row.support_url, row.customer_id, row.allow_anonymous, tuple(row.tools), row.created_at,
    )  # fmt: skip


def upstream_spec(row: Upstream) -> UpstreamSpec:
    return UpstreamSpec(
        tenant_id=row.tenant_id,
        name=row.name,
        transport="http" if row.transport == "http" else "stdio",
        url=row.url,
        command=tuple(row.command or ()),
        public_only=row.registered_by == "tenant",
    )


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(30)


class TenantStore:
    def __init__(self, store: Store, slug: str) -> None:
        self._store = store
        self.slug = slug

    @property
    def connectors(self) -> TenantConnectors:
        """The tenant's vendor connector instances and customers' vendor ids (``msplex.store.connectors``)."""
        from msplex.store.connectors import TenantConnectors

        return TenantConnectors(self._store, self)

    @property
    def approvals(self) -> TenantApprovals:
        """The tenant's approval requests (``msplex.store.approvals``), keyed by this tenant like the rest."""
        from msplex.store.approvals import TenantApprovals

        return TenantApprovals(self._store, self)

    # plumbing ------------------------------------------------------------------------------

    async def _tenant(self, session: AsyncSession) -> Tenant:
        row = await session.scalar(sa.select(Tenant).where(Tenant.slug == self.slug))
        if row is None:
            raise NotFound("tenant", self.slug)
        return row

    @staticmethod
    def _owned(tenant: Tenant, model: type[M]) -> sa.Select[M]:
        """The only way this module selects from a tenant-owned table."""
        return sa.select(model).where(model.tenant_id == tenant.id)

    async def _customer(self, session: AsyncSession, tenant: Tenant, slug: str) -> Customer:
        row = await session.scalar(self._owned(tenant, Customer).where(Customer.slug == slug))
        if row is None:
            raise NotFound("customer", slug, tenant=self.slug)
        return row

    # customers -------------------------------------------------------------------------------

    async def create_customer(self, slug: str, name: str | None = None) -> CustomerRecord:
        validation.check_slug(slug, "customer slug")
        display = validation.check_display_name(name or slug, "customer name")
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            if await session.scalar(self._owned(tenant, Customer).where(Customer.slug == slug)) is not None:
                raise AlreadyExists("customer", slug, tenant=self.slug)
            row = Customer(id=_new_id(), tenant_id=tenant.id, slug=slug, name=display, created_at=utcnow())
            session.add(row)
        return customer_record(row)

    async def list_customers(self) -> list[CustomerRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant(session)
            rows = await session.scalars(self._owned(tenant, Customer).order_by(Customer.slug))
            return [customer_record(r) for r in rows]

    async def remove_customer(self, slug: str) -> None:
        """Removes the customer and, with it, every token and entity bound to it."""
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            row = await self._customer(session, tenant, slug)
            await session.execute(sa.delete(ApiToken).where(ApiToken.customer_id == row.id))
            await session.execute(self._delete(tenant, Entity).where(Entity.customer_id == row.id))
            await session.delete(row)

    @staticmethod
    def _delete(tenant: Tenant, model: type[M]) -> sa.Delete:
        return sa.delete(model).where(model.tenant_id == tenant.id)

    # upstreams -------------------------------------------------------------------------------

    async def add_upstream(
        self,
        name: str,
        *,
        url: str | None = None,
        command: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        prefix: bool = True,
        registered_by: str = "operator",
    ) -> UpstreamRecord:
        """``env``: a stdio child's secret environment, sealed by the vault and given to the child at spawn
        (never part of its stored or shown command line)."""
        validation.check_upstream_name(name)
        if (url is None) == (command is None):
            raise InvalidInput("upstream", "give exactly one of a URL or a command")
        argv = validation.check_command(command) if command is not None else None
        if url is not None:
            validation.check_url(url)
        header_map = validation.check_headers(headers or {})
        env_map = validation.check_env(env or {})
        if env_map and command is None:
            raise InvalidInput("env", "only a stdio upstream (--command) takes environment variables")
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            taken = await session.scalar(self._owned(tenant, Upstream).where(Upstream.name == name))
            if taken is not None:
                raise AlreadyExists("upstream", name, tenant=self.slug)
            row = Upstream(
                id=_new_id(),
                tenant_id=tenant.id,
                name=name,
                transport="http" if url is not None else "stdio",
                url=url,
                command=argv,
                prefix=prefix,
                enabled=True,
                registered_by=registered_by,
                created_at=utcnow(),
            )
            if header_map:
                row.headers_enc = self._store.keyring.encrypt(
                    json.dumps(header_map).encode(), aad=headers_aad(tenant.id, row.id)
                )
            if env_map:
                row.env_enc = self._store.vault.seal(json.dumps(env_map).encode(), aad=env_aad(tenant.id, row.id))
            session.add(row)
        return self._upstream_record(row, tuple(header_map))

    async def list_upstreams(self) -> list[UpstreamRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant(session)
            rows = await session.scalars(self._upstreams(tenant))
            return [self._upstream_record(r) for r in rows]

    async def upstream_entries(self) -> list[UpstreamEntry]:
        """The tenant's enabled upstreams with decrypted headers, in registration order."""
        async with self._store.reader() as session:
            tenant = await self._tenant(session)
            rows = await session.scalars(self._upstreams(tenant).where(Upstream.enabled))
            return [self._store.upstream_entry(r, self.slug) for r in rows]

    async def remove_upstream(self, name: str) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            result = await session.execute(self._delete(tenant, Upstream).where(Upstream.name == name))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("upstream", name, tenant=self.slug)

    def _upstreams(self, tenant: Tenant) -> sa.Select[Upstream]:
        return self._owned(tenant, Upstream).order_by(Upstream.created_at, Upstream.id)

    def _upstream_record(self, row: Upstream, header_names: tuple[str, ...] | None = None) -> UpstreamRecord:
        if header_names is None:
            header_names = tuple(self._store.upstream_headers(row, self.slug))
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
            env_names=tuple(self._store.upstream_env(row, self.slug)),
        )

    # tokens ----------------------------------------------------------------------------------

    async def create_token(
        self,
        name: str | None = None,
        *,
        role: str = "member",
        customer: str | None = None,
        tools: Sequence[str] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[str, TokenRecord]:
        """A new personal access token: ``(plaintext, record)``; the plaintext is not kept."""
        label = validation.check_display_name(name or "default", "token name")
        if role not in ROLES:
            raise InvalidInput("role", f"'{role}' is not one of {', '.join(ROLES)}")
        if (role == "customer") != (customer is not None):
            raise InvalidInput("customer", "a customer token needs --customer, and only a customer token takes one")
        patterns = validation.check_patterns(tools) if tools is not None else None
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput("expiry", "must be in the future")
        plaintext = new_token()
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            customer_row = await self._customer(session, tenant, customer) if customer is not None else None
            row = ApiToken(
                id=_new_id(),
                tenant_id=tenant.id,
                name=label,
                token_hash=hash_token(plaintext),
                prefix=plaintext[:_DISPLAY_LEN],
                role=role,
                customer_id=customer_row.id if customer_row else None,
                tools=list(patterns) if patterns is not None else None,
                expires_at=expires_at,
                created_at=utcnow(),
                revoked_at=None,
            )
            session.add(row)
        return plaintext, token_record(row, customer)

    async def list_tokens(self) -> list[TokenRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant(session)
            customers = {c.id: c.slug for c in await session.scalars(self._owned(tenant, Customer))}
            rows = await session.scalars(
                sa.select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.created_at, ApiToken.id)
            )
            return [token_record(r, customers.get(r.customer_id or "")) for r in rows]

    async def revoke_token(self, token_id: str) -> TokenRecord:
        """Revoke by id or by the prefix ``token list`` shows (with or without its trailing ellipsis);
        revoking twice is a no-op that keeps the first time."""
        key = token_id.removesuffix("…").removesuffix("...")
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            rows = list(
                await session.scalars(
                    sa.select(ApiToken).where(
                        ApiToken.tenant_id == tenant.id, sa.or_(ApiToken.id == key, ApiToken.prefix == key)
                    )
                )
            )
            if len(rows) != 1:
                raise NotFound("token", token_id, tenant=self.slug)
            row = rows[0]
            if row.revoked_at is None:
                row.revoked_at = utcnow()
        return token_record(row)

    # the per-item ACL ------------------------------------------------------------------------

    async def set_rule(
        self, kind: str, pattern: str, *, enabled: bool, audiences: Sequence[str] = ("admin", "member")
    ) -> ItemRuleRecord:
        """Enable or disable the ``kind`` items ``pattern`` matches; the newest rule for a pattern wins."""
        if kind not in ITEM_KINDS:
            raise InvalidInput("kind", f"'{kind}' is not one of {', '.join(ITEM_KINDS)}")
        validation.check_patterns([pattern])
        chosen = validation.check_audiences(audiences) if enabled else ()
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            newest = await session.scalar(sa.select(sa.func.max(ItemRule.seq)).where(ItemRule.tenant_id == tenant.id))
            seq = int(newest or 0) + 1
            row = await session.scalar(
                self._owned(tenant, ItemRule).where(ItemRule.kind == kind, ItemRule.pattern == pattern)
            )
            if row is None:
                row = ItemRule(id=_new_id(), tenant_id=tenant.id, kind=kind, pattern=pattern)
                session.add(row)
            row.enabled, row.audiences, row.seq, row.updated_at = enabled, list(chosen), seq, utcnow()
        return ItemRuleRecord(kind, pattern, enabled, chosen, seq)  # type: ignore[arg-type]

    async def list_rules(self) -> list[ItemRuleRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant(session)
            rows = await session.scalars(self._owned(tenant, ItemRule).order_by(ItemRule.seq))
            return [rule_record(r) for r in rows]

    # entities --------------------------------------------------------------------------------

    async def create_entity(
        self,
        slug: str,
        name: str,
        *,
        title: str | None = None,
        description: str | None = None,
        icon_url: str | None = None,
        website_url: str | None = None,
        support_url: str | None = None,
        customer: str | None = None,
        allow_anonymous: bool = False,
    ) -> EntityRecord:
        validation.check_slug(slug, "entity slug")
        display = validation.check_display_name(name, "entity name")
        for label, url in (("icon URL", icon_url), ("website URL", website_url), ("support URL", support_url)):
            if url is not None:
                validation.check_url(url, label, https_only=False)
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            if await session.scalar(sa.select(Entity.id).where(Entity.slug == slug)) is not None:
                raise AlreadyExists("entity", slug)
            customer_row = await self._customer(session, tenant, customer) if customer is not None else None
            row = Entity(
                id=_new_id(),
                tenant_id=tenant.id,
                slug=slug,
                name=display,
                title=title,
                description=description,
                icon_url=icon_url,
                website_url=website_url,
                support_url=support_url,
                customer_id=customer_row.id if customer_row else None,
                allow_anonymous=allow_anonymous,
                tools=[],
                created_at=utcnow(),
            )
            session.add(row)
        return entity_record(row)

    async def entity_tools(self, slug: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> EntityRecord:
        validation.check_patterns([*add, *remove])
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            row = await self._entity(session, tenant, slug)
            patterns = [p for p in row.tools if p not in remove]
            patterns += [p for p in add if p not in patterns]
            row.tools = patterns
        return entity_record(row)

    async def list_entities(self) -> list[EntityRecord]:
        async with self._store.reader() as session:
            tenant = await self._tenant(session)
            return [entity_record(r) for r in await session.scalars(self._owned(tenant, Entity).order_by(Entity.slug))]

    async def get_entity(self, slug: str) -> EntityRecord:
        async with self._store.reader() as session:
            return entity_record(await self._entity(session, await self._tenant(session), slug))

    async def remove_entity(self, slug: str) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            await session.delete(await self._entity(session, tenant, slug))

    async def _entity(self, session: AsyncSession, tenant: Tenant, slug: str) -> Entity:
        row = await session.scalar(self._owned(tenant, Entity).where(Entity.slug == slug))
        if row is None:
            raise NotFound("entity", slug, tenant=self.slug)
        return row

    # OIDC ------------------------------------------------------------------------------------

    async def set_oidc(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        customer_claim: str = "msplex_customer",
        roles_claim: str = "roles",
        role_map: Mapping[str, str] | None = None,
    ) -> OidcProviderRecord:
        validation.check_url(issuer, "issuer")
        if jwks_url is not None:
            validation.check_url(jwks_url, "JWKS URL")
        if not audience.strip():
            raise InvalidInput("audience", "must not be empty")
        mapping = validation.check_role_map(role_map or {})
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            row = await session.scalar(self._owned(tenant, OidcProvider))
            if row is None:
                row = OidcProvider(tenant_id=tenant.id, created_at=utcnow())
                session.add(row)
            row.issuer, row.audience, row.jwks_url = issuer, audience.strip(), jwks_url
            row.customer_claim, row.roles_claim, row.role_map = customer_claim, roles_claim, dict(mapping)
        return oidc_record(row)

    async def get_oidc(self) -> OidcProviderRecord | None:
        async with self._store.reader() as session:
            row = await session.scalar(self._owned(await self._tenant(session), OidcProvider))
            return oidc_record(row) if row is not None else None

    async def remove_oidc(self) -> None:
        async with self._store.mutation() as session:
            tenant = await self._tenant(session)
            result = await session.execute(self._delete(tenant, OidcProvider))
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("OIDC provider", self.slug)


def rule_record(row: ItemRule) -> ItemRuleRecord:
    audiences: tuple[Audience, ...] = tuple(a for a in AUDIENCES if a in row.audiences)
    kind: ItemKind = row.kind  # type: ignore[assignment]
    return ItemRuleRecord(kind, row.pattern, row.enabled, audiences, row.seq)


def oidc_record(row: OidcProvider) -> OidcProviderRecord:
    return OidcProviderRecord(
        row.tenant_id, row.issuer, row.audience, row.jwks_url, row.customer_claim, row.roles_claim, dict(row.role_map)
    )
