"""Who exists, as of the last control-plane snapshot: tenants, and the tokens that open them.

Swapped whole when the control plane changes, so the stages that read it
(authenticate, resolve_tenant) never touch the database on the hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from msplex.store.records import ControlSnapshot, TenantRecord, TokenEntry

__all__ = ["Directory"]


class Directory:
    def __init__(self) -> None:
        self._by_slug: Mapping[str, TenantRecord] = MappingProxyType({})
        self._by_id: Mapping[str, TenantRecord] = MappingProxyType({})
        self._tokens: Mapping[str, TokenEntry] = MappingProxyType({})

    def apply(self, snapshot: ControlSnapshot) -> None:
        self._by_slug = snapshot.tenants
        self._by_id = snapshot.tenants_by_id
        self._tokens = snapshot.tokens

    def tenant_by_slug(self, slug: str) -> TenantRecord | None:
        return self._by_slug.get(slug)

    def tenant_by_id(self, tenant_id: str) -> TenantRecord | None:
        return self._by_id.get(tenant_id)

    def token(self, digest: str) -> TokenEntry | None:
        return self._tokens.get(digest)
