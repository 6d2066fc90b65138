"""The running gateway, assembled once: who exists, each tenant's catalogue, the connectors, the chain.

``Gateway`` is the composition root. Control-plane snapshots are applied to
it whole (``apply``): the directory (tenants, tokens) is swapped, each tenant's
upstream provider is given its registrations, and credentials are replaced in
place so pooled sessions survive. The edge reaches it only through ``Chain``
and the narrow ``msplex.mcp.edge.Served`` view it implements; nothing below
imports it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import httpx

from msplex import chain
from msplex.access import Access
from msplex.catalogue.provider import Health
from msplex.catalogue.tenant import TenantCatalogue
from msplex.connectors.framework.guard import public_only_transport
from msplex.connectors.framework.provider import TokenStores, VendorProvider, VendorServices
from msplex.connectors.framework.transport import AiohttpTransport
from msplex.connectors.upstream.connector import ConnectorServices
from msplex.connectors.upstream.credentials import CredentialTable
from msplex.connectors.upstream.parked import Parked
from msplex.connectors.upstream.provider import UpstreamProvider
from msplex.connectors.upstream.subscriptions import Subscriptions
from msplex.directory import Directory
from msplex.entitlements import Entitlements, plan_quota, refusal
from msplex.events import Event, EventBus, Listener
from msplex.identity.oidc import Finding, OidcProvider, diagnose
from msplex.identity.principals import Identities
from msplex.identity.providers import OidcProviders
from msplex.policy import Policy
from msplex.protocol.jsonrpc import JSON
from msplex.quota import Quotas
from msplex.upstream import UpstreamPool, open_session
from msplex.upstream.pool import SessionFactory
from msplex.workers import Limits, Workers

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from msplex.approvals import Approvals
    from msplex.audit.writer import AuditWriter
    from msplex.call import Call
    from msplex.crypto import Keyring
    from msplex.state import SharedState
    from msplex.store.records import ControlSnapshot, EntityRecord, OidcProviderRecord, TenantRecord

__all__ = ["PROBE_SECONDS", "Gateway", "Metrics"]

log = logging.getLogger("msplex.gateway")

PROBE_SECONDS = 10.0
VENDOR_TIMEOUT = 30.0
"""Seconds one vendor HTTP request may take (a tool call may make several)."""


class Metrics:
    """Counters this replica reports with each heartbeat (the store sums them across replicas)."""

    def __init__(self) -> None:
        self.calls_routed = 0

    def observe(self, outcome: chain.Outcome) -> None:
        """A ``tools/call`` counts as routed once it cleared every stage, whatever the connector answers."""
        if outcome.dispatched and outcome.call.method == "tools/call":
            self.calls_routed += 1


@dataclass(slots=True)
class _Tenant:
    catalogue: TenantCatalogue
    upstreams: UpstreamProvider
    subscriptions: Subscriptions
    vendors: VendorProvider


class Gateway:
    def __init__(
        self,
        keyring: Keyring,
        state: SharedState,
        *,
        server_info: JSON,
        replica_id: str,
        call_deadline: float = 300.0,
        session_factory: SessionFactory | None = None,
        oidc: OidcProvider | None = None,
        allow_private: bool = False,
        stdio_user: str | None = None,
        approvals: Approvals | None = None,
        worker_limits: Limits | None = None,
        connector_tokens: TokenStores | None = None,
        require_subscription: bool = False,
        audit: AuditWriter | None = None,
    ) -> None:
        self.server_info_base = server_info
        self.state = state
        self.approvals = approvals
        self.audit = audit
        self.workers = Workers(worker_limits)
        self._allow_private = allow_private
        self.directory = Directory()
        self.identities = Identities(self.directory)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        self.oidc = OidcProviders(self.directory, self._http, oidc)
        self.identities.oidc = self.oidc
        self.credentials = CredentialTable()
        factory = session_factory or partial(open_session, stdio_user=stdio_user)
        self.pool = UpstreamPool(factory, credentials=self.credentials.source)
        self.events = EventBus(state, replica_id)
        self.parked = Parked(keyring, state)
        self.services = ConnectorServices(self.pool, self.credentials, self.parked, call_deadline)
        self.metrics = Metrics()
        self._vendor_http = httpx.AsyncClient(
            transport=AiohttpTransport(),  # the CPU of a vendor request: see connectors/framework/transport.py
            timeout=httpx.Timeout(min(call_deadline, VENDOR_TIMEOUT)),
            follow_redirects=False,
        )
        self._vendor_tenant_http = (
            self._vendor_http
            if allow_private
            else httpx.AsyncClient(
                transport=public_only_transport(),
                timeout=httpx.Timeout(min(call_deadline, VENDOR_TIMEOUT)),
                follow_redirects=False,
            )
        )
        self.vendor_services = VendorServices(self._vendor_http, state, connector_tokens, self._vendor_tenant_http)
        self.entitlements = Entitlements(require_subscription=require_subscription)
        self._tenants: dict[str, _Tenant] = {}
        self._quotas: dict[str, Quotas] = {}
        self._entities: Mapping[str, EntityRecord] = {}
        self._oidc: Mapping[str, OidcProviderRecord] = {}
        self._oidc_problems: list[str] = []
        self.global_issuers: list[str] = [oidc.issuer] if oidc is not None else []
        """Issuers of the deployment-wide identity provider (``MSPLEX_OIDC_ISSUER``), if any."""
        self._syncing: set[asyncio.Task[None]] = set()
        self._snapshot: ControlSnapshot | None = None
        self.chain = chain.assemble(
            identities=self.identities,
            directory=self.directory,
            catalogues=self.catalogue,
            entitlements=self.entitlements,
            observers=(self.metrics.observe,),
            approvals=approvals,
            workers=self.workers,
            policies=self.policy,
            quotas=self._quotas.get,
            state=state,
            audit=audit,
        )

    async def start(self) -> None:
        await self.events.start(self._remote)
        if self.audit is not None:
            await self.audit.start()
        if self.approvals is not None:
            await self.approvals.start()

    async def close(self) -> None:
        if self.audit is not None:
            await self.audit.close()
        for tenant in self._tenants.values():
            tenant.catalogue.close()
        await self.events.close()
        if self.approvals is not None:
            await self.approvals.close()
        await self.parked.close()
        await asyncio.gather(*self._syncing, return_exceptions=True)
        await self.pool.close()
        await self._http.aclose()
        await self._vendor_http.aclose()
        if self._vendor_tenant_http is not self._vendor_http:
            await self._vendor_tenant_http.aclose()

    # control plane ---------------------------------------------------------------

    def apply(self, snapshot: ControlSnapshot) -> None:
        """Make the live state match the control plane. A tenant whose item rules or entities changed
        tells its connected clients that their lists changed (each replica applies the same snapshot)."""
        old_entities, self._entities = self._entities, snapshot.entities
        self._oidc = snapshot.oidc
        if (problems := self.oidc.apply(snapshot.oidc)) != self._oidc_problems:
            for problem in problems:
                log.error("an identity provider cannot be used: %s", problem)
            self._oidc_problems = problems
        self.directory.apply(snapshot)
        self.identities.invalidate()
        entitled = _entitlement_changes(self._snapshot, snapshot)
        self.entitlements.apply(snapshot)
        self._snapshot = snapshot
        keys = set()
        changed_entities = {
            e.tenant_id
            for e in [*old_entities.values(), *snapshot.entities.values()]
            if old_entities.get(e.slug) != snapshot.entities.get(e.slug)
        }
        for tenant in snapshot.tenants_by_id.values():
            entries = snapshot.upstreams_of(tenant.id)
            if self._allow_private:
                entries = tuple(replace(e, spec=replace(e.spec, public_only=False)) for e in entries)
            for entry in entries:
                self.credentials.replace(entry.spec.key, dict(entry.headers), dict(entry.spec.env))
                keys.add(entry.spec.key)
            live = self._tenants.get(tenant.id) or self._open(tenant)
            live.upstreams.slug = tenant.slug
            live.upstreams.apply(entries)
            live.vendors.slug = tenant.slug
            live.vendors.apply(snapshot.connectors_of(tenant.id))
            rules = snapshot.rules.get(tenant.id, ())
            access = live.catalogue.access
            policy = access.policy
            policies = snapshot.policies.get(tenant.id, ())
            if policy is None or not policy.same(policies, tenant.read_only):
                policy = Policy(policies, read_only=tenant.read_only)  # compiled once per change
            changed = rules != access.rules or policy is not access.policy
            if changed or tenant.id in changed_entities or tenant.id in entitled:
                if changed:
                    live.catalogue.access = Access(rules, policy)
                for kind in ("tools", "prompts", "resources"):
                    self.events.publish(Event(tenant.id, kind))
            quotas = (*snapshot.quotas.get(tenant.id, ()), *plan_quota(snapshot, tenant.id))
            if tenant.id not in self._quotas or self._quotas[tenant.id].records != quotas:
                self._quotas[tenant.id] = Quotas(tenant.id, quotas)
        for tenant_id in set(self._tenants) - set(snapshot.tenants_by_id):
            self._tenants.pop(tenant_id).catalogue.close()
            self._quotas.pop(tenant_id, None)
        self.credentials.retain(keys)
        specs = [spec for t in self._tenants.values() for spec in t.upstreams.specs()]
        task = asyncio.get_running_loop().create_task(self.pool.sync(specs))
        self._syncing.add(task)
        task.add_done_callback(self._syncing.discard)

    def _open(self, tenant: TenantRecord) -> _Tenant:
        catalogue = TenantCatalogue(tenant.id, self.events)
        provider = UpstreamProvider(tenant.id, tenant.slug, catalogue, self.events, self.services)
        catalogue.add(provider)
        subscriptions = Subscriptions(lambda uri: catalogue.current.route_uri(uri))
        provider.subscriptions = subscriptions
        vendors = VendorProvider(tenant.id, tenant.slug, catalogue, self.vendor_services)
        catalogue.add(vendors)
        live = _Tenant(catalogue, provider, subscriptions, vendors)
        self._tenants[tenant.id] = live
        return live

    async def _remote(self, event: Event) -> None:
        """Another replica saw an upstream's lists change: bring ours up to date before clients hear of it."""
        live = self._tenants.get(event.tenant_id)
        if live is not None and event.instance is not None and event.kind != "updated":
            await live.catalogue.refresh(event.instance, "silent")

    # what the chain and the edge read ---------------------------------------------------

    def catalogue(self, tenant_id: str) -> TenantCatalogue | None:
        live = self._tenants.get(tenant_id)
        return live.catalogue if live is not None else None

    def policy(self, tenant_id: str) -> Policy | None:
        """The tenant's tool policy, compiled from the current snapshot."""
        live = self._tenants.get(tenant_id)
        return live.catalogue.access.policy if live is not None else None

    def quotas(self, tenant_id: str) -> Quotas | None:
        return self._quotas.get(tenant_id)

    def server_info(self, tenant: TenantRecord, entity: EntityRecord | None = None) -> JSON:
        """How the endpoint presents itself: an entity's brand, else the tenant's name."""
        if entity is None:
            return {**self.server_info_base, "title": f"MSPlex · {tenant.name}"}
        info: JSON = {"name": entity.name, "version": self.server_info_base.get("version", "")}
        if entity.title:
            info["title"] = entity.title
        if entity.description:
            info["description"] = entity.description
        if entity.icon_url:
            info["icons"] = [{"src": entity.icon_url}]
        if entity.website_url:
            info["websiteUrl"] = entity.website_url
        return info

    def capabilities(self, tenant: TenantRecord) -> JSON:
        """What a tenant's endpoint offers, in both eras (2026-07-28 subscribes through
        ``subscriptions/listen`` and takes the log level per request, but both are offered)."""
        return {
            "tools": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": True},
            "prompts": {"listChanged": True},
            "completions": {},
            "logging": {},
        }

    def instructions(self, tenant: TenantRecord, entity: EntityRecord | None = None) -> str | None:
        if entity is not None and entity.support_url:
            return f"Support for {entity.name}: {entity.support_url}"
        return None

    def issuers(self, endpoint: str) -> list[str]:
        tenant_id: str | None = None
        if endpoint.startswith("/mcp/v1/"):
            tenant = self.directory.tenant_by_slug(endpoint.removeprefix("/mcp/v1/"))
            tenant_id = tenant.id if tenant is not None else None
        elif endpoint.startswith("/mcp/entities/"):
            entity = self.directory.entity(endpoint.removeprefix("/mcp/entities/"))
            tenant_id = entity.tenant_id if entity is not None else None
        provider = self._oidc.get(tenant_id) if tenant_id is not None else None
        own = [provider.issuer] if provider is not None else []
        return [*own, *(i for i in self.global_issuers if i not in own)]

    def may_see_uri(self, call: Call, uri: str) -> bool:
        """Whether the caller may see the resource at ``uri`` (for subscriptions a stream asks for): the item
        rules, the tenant's subscription and its plan's connectors, as a ``resources/read`` would face them."""
        tenant = call.tenant
        live = self._tenants.get(tenant.id) if tenant is not None else None
        if tenant is None or live is None or call.viewer is None:
            return False
        target = live.catalogue.current.route_uri(uri)
        if target is None or not live.catalogue.access.visible(live.catalogue.current, call.viewer)(target):
            return False
        entitlement = self.entitlements.of(tenant.id)
        return entitlement is None or (entitlement.entitles(target) and refusal(entitlement, time.time()) is None)

    def listen(self, listener: Listener) -> Callable[[], None]:
        return self.events.listen(listener)

    def subscriptions(self, tenant_id: str) -> Subscriptions | None:
        live = self._tenants.get(tenant_id)
        return live.subscriptions if live is not None else None

    async def check_identity_providers(self) -> dict[str, list[Finding]]:
        """Every identity provider checked from this replica (for the start-up log), by label."""
        checks: dict[str, OidcProvider] = {}
        if (deployment := self.oidc.deployment) is not None:
            checks["the deployment"] = deployment
        for tenant_id in self._oidc:
            tenant = self.directory.tenant_by_id(tenant_id)
            verifier = self.oidc.verifier(tenant_id)
            if tenant is not None and verifier is not None:
                checks[f"tenant {tenant.slug}"] = verifier.provider
        results = await asyncio.gather(*(diagnose(p, self._http) for p in checks.values()))
        return dict(zip(checks, results, strict=True))

    # operations -------------------------------------------------------------------------

    def probe(self) -> None:
        """Re-list upstreams nothing was heard from lately: how one that died between calls is found out."""
        for live in self._tenants.values():
            live.catalogue.probe(PROBE_SECONDS)

    def health(self) -> dict[str, dict[str, Health]]:
        """Per tenant id, each connector instance's health as this replica sees it."""
        return {tenant_id: live.catalogue.health() for tenant_id, live in self._tenants.items()}


def _entitlement_changes(old: ControlSnapshot | None, new: ControlSnapshot) -> set[str]:
    """Tenant ids whose subscription or plan changed: what their lists show may have changed."""
    if old is None:
        return set()

    def of(snapshot: ControlSnapshot, tenant_id: str) -> tuple[object, object]:
        subscription = snapshot.subscriptions.get(tenant_id)
        return subscription, snapshot.plans.get(subscription.plan_id) if subscription is not None else None

    return {t for t in {*old.tenants_by_id, *new.tenants_by_id} if of(old, t) != of(new, t)}
