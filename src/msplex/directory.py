"""Who exists, as of the last control-plane snapshot: tenants, their customers and entities, and the
tokens that open them.

Swapped whole when the control plane changes, so the stages that read it
(authenticate, resolve_tenant) never touch the database on the hot path.
Customers are looked up by tenant and slug together: a slug means nothing
outside its tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from msplex.store.records import ControlSnapshot, CustomerRecord, EntityRecord, TenantRecord, TokenEntry

__all__ = ["Directory"]


class Directory:
    def __init__(self) -> None:
        empty: Mapping[str, object] = MappingProxyType({})
        self._by_slug: Mapping[str, TenantRecord] = empty  # type: ignore[assignment]
        self._by_id: Mapping[str, TenantRecord] = empty  # type: ignore[assignment]
        self._tokens: Mapping[str, TokenEntry] = empty  # type: ignore[assignment]
        self._customers: Mapping[str, CustomerRecord] = empty  # type: ignore[assignment]
        self._customer_slugs: dict[tuple[str, str], CustomerRecord] = {}
        self._entities: Mapping[str, EntityRecord] = empty  # type: ignore[assignment]
        self._live_tokens: frozenset[str] = frozenset()

    def apply(self, snapshot: ControlSnapshot) -> None:
        self._by_slug = snapshot.tenants
        self._by_id = snapshot.tenants_by_id
        self._tokens = snapshot.tokens
        self._customers = snapshot.customers
        self._customer_slugs = {(c.tenant_id, c.slug): c for c in snapshot.customers.values()}
        self._entities = snapshot.entities
        self._live_tokens = frozenset(t.token_id for t in snapshot.tokens.values())

    def tenant_by_slug(self, slug: str) -> TenantRecord | None:
        return self._by_slug.get(slug)

    def tenant_by_id(self, tenant_id: str) -> TenantRecord | None:
        return self._by_id.get(tenant_id)

    def token(self, digest: str) -> TokenEntry | None:
        return self._tokens.get(digest)

    def customer(self, tenant_id: str, slug: str) -> CustomerRecord | None:
        return self._customer_slugs.get((tenant_id, slug))

    def customer_by_id(self, customer_id: str) -> CustomerRecord | None:
        return self._customers.get(customer_id)

    def entity(self, slug: str) -> EntityRecord | None:
        return self._entities.get(slug)

    def token_live(self, token_id: str) -> bool:
        """Whether a token still exists unrevoked (open streams of a revoked one are closed)."""
        return token_id in self._live_tokens
