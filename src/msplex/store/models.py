"""ORM tables. Only ``msplex.store`` touches these; everyone else gets frozen records.

Every tenant-owned row carries ``tenant_id``; uniqueness of names is per
tenant. ``control_state`` is a single row whose ``version`` every mutation
bumps in its own transaction, which is what replicas poll.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "CALLS_ROUTED",
    "ApiToken",
    "ApprovalRequest",
    "Base",
    "Connector",
    "ControlState",
    "Counter",
    "Customer",
    "CustomerVendorId",
    "EndedSession",
    "Entity",
    "ItemRule",
    "OidcProvider",
    "ReplicaStatus",
    "Tenant",
    "TenantOwned",
    "UTCDateTime",
    "Upstream",
    "utcnow",
]

CALLS_ROUTED = "calls_routed"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class TenantOwned:
    """A row that belongs to one tenant: read and written only through ``msplex.store.tenant.TenantStore``,
    whose every query is filtered by this column."""

    tenant_id: Mapped[str]


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    allow_anonymous: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Upstream(TenantOwned, Base):
    __tablename__ = "upstreams"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_upstreams_tenant_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(63))
    transport: Mapped[str] = mapped_column(sa.String(8))
    url: Mapped[str | None] = mapped_column(sa.Text)
    command: Mapped[list[str] | None] = mapped_column(sa.JSON)
    headers_enc: Mapped[str | None] = mapped_column(sa.Text)
    env_enc: Mapped[str | None] = mapped_column(sa.Text)
    """A stdio child's secret environment, sealed by the vault (never in ``command``)."""
    prefix: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    registered_by: Mapped[str] = mapped_column(sa.String(8), default="operator")
    """``operator`` (the CLI on the host) or ``tenant`` (a tenant admin through the admin API)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A personal access token: a tenant's (with a role, maybe a customer and tool patterns) or an
    operator's (no tenant). Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    role: Mapped[str] = mapped_column(sa.String(16), default="member")
    customer_id: Mapped[str | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    tools: Mapped[list[str] | None] = mapped_column(sa.JSON)
    """Glob patterns on public names that narrow what the role allows; ``None``: no narrowing."""
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Customer(TenantOwned, Base):
    """One of an MSP's clients; belongs to exactly one tenant."""

    __tablename__ = "customers"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "slug", name="uq_customers_tenant_slug"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(63))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ItemRule(TenantOwned, Base):
    """Whether the catalogue items a pattern matches are enabled, and for which audiences. The last
    matching rule (highest ``seq``) decides; an item no rule matches is off."""

    __tablename__ = "item_rules"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "kind", "pattern", name="uq_item_rules_pattern"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    pattern: Mapped[str] = mapped_column(sa.String(300))
    enabled: Mapped[bool] = mapped_column(sa.Boolean)
    audiences: Mapped[list[str]] = mapped_column(sa.JSON)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Entity(TenantOwned, Base):
    """A branded endpoint, ``/mcp/entities/{slug}``: a tenant's selection of items under its own name."""

    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    icon_url: Mapped[str | None] = mapped_column(sa.Text)
    website_url: Mapped[str | None] = mapped_column(sa.Text)
    support_url: Mapped[str | None] = mapped_column(sa.Text)
    customer_id: Mapped[str | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    allow_anonymous: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    tools: Mapped[list[str]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OidcProvider(TenantOwned, Base):
    """A tenant's own identity provider."""

    __tablename__ = "oidc_providers"

    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    issuer: Mapped[str] = mapped_column(sa.Text)
    audience: Mapped[str] = mapped_column(sa.Text)
    jwks_url: Mapped[str | None] = mapped_column(sa.Text)
    customer_claim: Mapped[str] = mapped_column(sa.String(200))
    roles_claim: Mapped[str] = mapped_column(sa.String(200))
    role_map: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ControlState(Base):
    __tablename__ = "control_state"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(sa.BigInteger)


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)


class ReplicaStatus(Base):
    __tablename__ = "replica_status"

    replica_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(sa.Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    calls_routed: Mapped[int] = mapped_column(sa.BigInteger)
    upstreams: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)


class EndedSession(Base):
    """A legacy MCP session ended by DELETE on some replica; every replica refuses it after.

    ``seq`` orders the rows so replicas poll only what is new."""

    __tablename__ = "ended_sessions"

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    sid: Mapped[str] = mapped_column(sa.String(64), index=True)
    tenant_id: Mapped[str] = mapped_column(sa.String(36))
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ApprovalRequest(TenantOwned, Base):
    """A call held until a person approves it (chain stage 10). The arguments are sealed with the keyring
    (bound to tenant and row); approvers see ``arguments_redacted`` and the keyed ``arguments_digest``.
    ``status``: pending, approved, denied, withdrawn, executed (claimed once, by a conditional update)."""

    __tablename__ = "approval_requests"
    __table_args__ = (sa.Index("ix_approval_requests_tenant_status", "tenant_id", "status", "created_at"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.Text)
    """The public name (or URI) the caller used."""
    instance: Mapped[str] = mapped_column(sa.String(63))
    customer_id: Mapped[str | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    requester: Mapped[str] = mapped_column(sa.String(300))
    """The calling principal's key."""
    arguments_redacted: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    arguments_enc: Mapped[str] = mapped_column(sa.Text)
    arguments_digest: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(sa.String(300))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(sa.Text)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Connector(TenantOwned, Base):
    """A vendor connector instance (``msplex connect``): its settings in clear, its secrets and its
    current OAuth token sealed by the vault, each bound (AAD) to tenant, row and purpose."""

    __tablename__ = "connectors"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name", name="uq_connectors_tenant_name"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(63))
    kind: Mapped[str] = mapped_column(sa.String(32))
    base_url: Mapped[str] = mapped_column(sa.Text)
    token_url: Mapped[str | None] = mapped_column(sa.Text)
    settings: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    secret_fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    secrets_enc: Mapped[str] = mapped_column(sa.Text)
    token_enc: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerVendorId(TenantOwned, Base):
    """A customer's id in one connector's vendor (Halo client id, Hudu company id, ...): one per
    customer and connector, and no vendor id claimed by two customers of the same connector."""

    __tablename__ = "customer_vendor_ids"
    __table_args__ = (
        sa.UniqueConstraint("connector_id", "customer_id", name="uq_customer_vendor_ids_customer"),
        sa.UniqueConstraint("connector_id", "vendor_id", name="uq_customer_vendor_ids_vendor"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    connector_id: Mapped[str] = mapped_column(sa.ForeignKey("connectors.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
