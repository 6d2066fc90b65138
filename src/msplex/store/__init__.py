"""Persistent state: tenants and what they own, tokens, the control version, replica status.

Only this package touches the ORM; callers get frozen records. What a tenant
owns is reached through ``Store.tenant(slug)``.
"""

from msplex.store.engine import make_engine, migrate
from msplex.store.errors import AlreadyExists, Conflict, InvalidInput, NotFound, SecretUnavailable, StoreError
from msplex.store.records import (
    ControlSnapshot,
    CustomerRecord,
    EntityRecord,
    ItemRuleRecord,
    OidcProviderRecord,
    ReplicaRecord,
    StatusReport,
    TenantRecord,
    TokenEntry,
    TokenRecord,
    UnhealthyUpstream,
    UpstreamEntry,
    UpstreamHealth,
    UpstreamRecord,
    hash_token,
)
from msplex.store.replicas import LIVE_WITHIN
from msplex.store.store import Store
from msplex.store.tenant import TOKEN_PREFIX, TenantStore

__all__ = [
    "LIVE_WITHIN",
    "TOKEN_PREFIX",
    "AlreadyExists",
    "Conflict",
    "ControlSnapshot",
    "CustomerRecord",
    "EntityRecord",
    "InvalidInput",
    "ItemRuleRecord",
    "NotFound",
    "OidcProviderRecord",
    "ReplicaRecord",
    "SecretUnavailable",
    "StatusReport",
    "Store",
    "StoreError",
    "TenantRecord",
    "TenantStore",
    "TokenEntry",
    "TokenRecord",
    "UnhealthyUpstream",
    "UpstreamEntry",
    "UpstreamHealth",
    "UpstreamRecord",
    "hash_token",
    "make_engine",
    "migrate",
]
