"""Persistent state: tenants, upstreams, tokens, the control version, replica status.

Only this package touches the ORM; callers get frozen records from ``Store``.
"""

from msplex.store.engine import make_engine, migrate
from msplex.store.errors import AlreadyExists, Conflict, InvalidInput, NotFound, StoreError
from msplex.store.records import (
    ControlSnapshot,
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
from msplex.store.store import TOKEN_PREFIX, SecretUnavailable, Store

__all__ = [
    "LIVE_WITHIN",
    "TOKEN_PREFIX",
    "AlreadyExists",
    "Conflict",
    "ControlSnapshot",
    "InvalidInput",
    "NotFound",
    "ReplicaRecord",
    "SecretUnavailable",
    "StatusReport",
    "Store",
    "StoreError",
    "TenantRecord",
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
