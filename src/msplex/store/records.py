"""Frozen records the store hands out: never ORM objects, never a live session.

``ControlSnapshot`` is everything a gateway replica needs to route, loaded in
one pass and swapped whole when ``version`` changes. It holds decrypted
upstream headers, so it lives in memory only and is never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from msplex.catalogue.provider import HealthState
from msplex.crypto import token_digest
from msplex.upstream.base import Transport, UpstreamSpec

__all__ = [
    "AUDIENCES",
    "ITEM_KINDS",
    "ROLES",
    "Audience",
    "ConnectorEntry",
    "ConnectorRecord",
    "ControlSnapshot",
    "CustomerRecord",
    "EntityRecord",
    "HealthState",
    "ItemKind",
    "ItemRuleRecord",
    "OidcProviderRecord",
    "ReplicaRecord",
    "Role",
    "StatusReport",
    "TenantRecord",
    "TokenEntry",
    "TokenRecord",
    "UnhealthyUpstream",
    "UpstreamEntry",
    "UpstreamHealth",
    "UpstreamRecord",
    "hash_token",
]

hash_token = token_digest
"""The stored form of a bearer token (``msplex.crypto.token_digest``)."""

Role = Literal["admin", "member", "customer"]
ROLES: tuple[Role, ...] = ("admin", "member", "customer")
Audience = Literal["public", "customer", "member", "admin"]
AUDIENCES: tuple[Audience, ...] = ("public", "customer", "member", "admin")
"""Every identity resolves to exactly one: anonymous callers are ``public``, a role is its own audience."""
ItemKind = Literal["tool", "prompt", "resource"]
ITEM_KINDS: tuple[ItemKind, ...] = ("tool", "prompt", "resource")
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TenantRecord:
    id: str
    slug: str
    name: str
    allow_anonymous: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UpstreamRecord:
    """An upstream as listed to operators: header names only, never values."""

    id: str
    tenant_id: str
    name: str
    transport: Transport
    url: str | None
    command: tuple[str, ...]
    header_names: tuple[str, ...]
    prefix: bool
    enabled: bool
    created_at: datetime
    env_names: tuple[str, ...] = ()
    """A stdio child's secret environment variables (names only)."""


@dataclass(frozen=True, slots=True)
class ConnectorRecord:
    """A vendor connector instance as listed to operators: which secret fields are set, never their values."""

    id: str
    tenant_id: str
    name: str
    kind: str
    base_url: str
    token_url: str | None
    settings: Mapping[str, str]
    secret_fields: tuple[str, ...]
    customers: Mapping[str, str]
    """Customer slug -> its id in this vendor."""
    created_at: datetime
    updated_at: datetime
    customer_slugs: Mapping[str, str] = field(default_factory=dict)
    """Customer id -> slug, for the customers in ``customers`` (a principal names its customer by id)."""


@dataclass(frozen=True, slots=True)
class ConnectorEntry:
    """A connector instance as the gateway runs it: the record plus its opened secrets (memory only)."""

    record: ConnectorRecord
    secrets: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class UpstreamEntry:
    """An upstream as the gateway routes to it: the connect spec, its credential headers
    (decrypted: in memory only, never in a repr) and the naming flag."""

    id: str
    spec: UpstreamSpec
    prefix: bool
    created_at: datetime
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A token as listed to operators: never the token, only its recognisable prefix."""

    id: str
    tenant_id: str | None
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    role: Role | None = "member"
    """``None`` for an operator token."""
    customer: str | None = None
    """The customer's slug, for a customer token."""
    tools: tuple[str, ...] | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """A live token as authentication needs it (from the snapshot: no database round trip)."""

    tenant_id: str | None
    token_id: str
    role: Role | None = "member"
    """``None``: an operator token (no tenant; the admin API across tenants)."""
    customer_id: str | None = None
    tools: tuple[str, ...] | None = None
    expires_at: float | None = None
    """Unix time."""


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    id: str
    tenant_id: str
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ItemRuleRecord:
    kind: ItemKind
    pattern: str
    enabled: bool
    audiences: tuple[Audience, ...]
    seq: int


@dataclass(frozen=True, slots=True)
class EntityRecord:
    id: str
    tenant_id: str
    slug: str
    name: str
    title: str | None
    description: str | None
    icon_url: str | None
    website_url: str | None
    support_url: str | None
    customer_id: str | None
    allow_anonymous: bool
    tools: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OidcProviderRecord:
    tenant_id: str
    issuer: str
    audience: str
    jwks_url: str | None
    customer_claim: str
    roles_claim: str
    role_map: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class ControlSnapshot:
    """Tenants by slug and id, enabled upstreams per tenant id in registration
    order (earliest first: it wins a contested unprefixed name), live tokens by hash,
    and per tenant its customers, item rules (in ``seq`` order) and OIDC provider;
    entities by slug."""

    version: int
    tenants: Mapping[str, TenantRecord]
    tenants_by_id: Mapping[str, TenantRecord]
    upstreams: Mapping[str, tuple[UpstreamEntry, ...]] = field(repr=False)  # holds header values
    tokens: Mapping[str, TokenEntry] = field(repr=False)
    customers: Mapping[str, CustomerRecord] = field(default_factory=lambda: MappingProxyType({}))
    """By customer id."""
    rules: Mapping[str, tuple[ItemRuleRecord, ...]] = field(default_factory=lambda: MappingProxyType({}))
    entities: Mapping[str, EntityRecord] = field(default_factory=lambda: MappingProxyType({}))
    oidc: Mapping[str, OidcProviderRecord] = field(default_factory=lambda: MappingProxyType({}))
    connectors: Mapping[str, tuple[ConnectorEntry, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    """Vendor connector instances per tenant id, in creation order (holds opened secrets)."""

    def authenticate(self, token: str) -> TokenEntry | None:
        return self.tokens.get(hash_token(token))

    def upstreams_of(self, tenant_id: str) -> tuple[UpstreamEntry, ...]:
        return self.upstreams.get(tenant_id, ())

    def connectors_of(self, tenant_id: str) -> tuple[ConnectorEntry, ...]:
        return self.connectors.get(tenant_id, ())


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """One replica's view of one upstream, reported with each heartbeat."""

    tenant_id: str
    name: str
    state: HealthState
    error: str | None = None
    last_ok_at: datetime | None = None
    tools: int | None = None


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    replica_id: str
    endpoint: str
    started_at: datetime
    heartbeat_at: datetime
    calls_routed: int
    upstreams: tuple[UpstreamHealth, ...]


@dataclass(frozen=True, slots=True)
class UnhealthyUpstream:
    tenant_slug: str
    name: str
    error: str | None
    replica_id: str


@dataclass(frozen=True, slots=True)
class StatusReport:
    """``operational`` means some replica heartbeated within the liveness window."""

    operational: bool
    replicas: tuple[ReplicaRecord, ...]
    tenants: tuple[TenantRecord, ...]
    upstream_count: int
    calls_routed: int
    unhealthy: tuple[UnhealthyUpstream, ...]
    tenants_with_connectors: int
    """How many tenants have at least one enabled upstream (the connectors' spread, for ``msplex status``)."""
    connectors_by_tenant: Mapping[str, int] = field(default_factory=dict)
    """Connectors (upstreams and vendor connectors) per tenant slug."""
