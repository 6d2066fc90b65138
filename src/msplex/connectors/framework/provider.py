"""A tenant's vendor connector instances as a catalogue provider (family ``vendor``).

Each instance lists its vendor's tools under ``{instance}__{tool}`` (the instance name defaults to
the vendor kind), with ``Target.vendor`` set to the kind. Tools are declared by code, so listing
needs no vendor request and an instance is listed as soon as it is configured; its health is its
readiness: ``ok`` until the vendor rejects its credentials or a token renewal fails, then
``unhealthy`` with the reason and the command that fixes it, and ``ok`` again after a call succeeds
or the instance is reconfigured. Every instance of every tenant shares one HTTP client (pooled
connections); pacing and token state are per instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from msplex.catalogue.listing import Listing, Source
from msplex.catalogue.provider import Health, Publish
from msplex.connectors.framework.connector import VendorConnector
from msplex.connectors.framework.http import SharedPacer
from msplex.connectors.framework.instance import VendorInstance
from msplex.connectors.framework.registry import UnknownVendor, vendor
from msplex.connectors.framework.spec import InstanceConfig
from msplex.vault.auth import MemoryTokens, TokenStore, build_auth

if TYPE_CHECKING:
    from msplex.catalogue.tenant import TenantCatalogue
    from msplex.state import SharedState
    from msplex.store.records import ConnectorEntry, ConnectorRecord

__all__ = ["TokenStores", "VendorProvider", "VendorServices", "fix_for", "instance_of"]

log = logging.getLogger("msplex.connectors")

TokenStores = Callable[[str, str], TokenStore]
"""``(tenant slug, instance name) -> TokenStore``: where an instance's OAuth token is kept."""


@dataclass(frozen=True, slots=True)
class VendorServices:
    """What every vendor connector of the gateway shares."""

    http: httpx.AsyncClient
    state: SharedState | None = None
    tokens: TokenStores | None = None


def fix_for(record: ConnectorRecord, tenant: str) -> str:
    return f"run `msplex connect {record.kind} --tenant {tenant} --instance {record.name}`"


def instance_of(entry: ConnectorEntry, tenant: str, services: VendorServices) -> VendorInstance:
    """Build the running instance of a stored connector (``UnknownVendor`` when its module is missing)."""
    record = entry.record
    spec = vendor(record.kind)
    config = InstanceConfig(record.base_url, record.token_url, dict(record.settings))
    tokens = services.tokens(tenant, record.name) if services.tokens is not None else MemoryTokens()
    auth = build_auth(
        spec,
        config,
        entry.secrets,
        services.http,
        tokens=tokens,
        state=services.state,
        lock_key=f"vault:token:{record.tenant_id}:{record.id}",
        fix=fix_for(record, tenant),
    )
    pacer = None
    if services.state is not None and services.state.backend != "memory" and spec.rate is not None:
        pacer = SharedPacer(services.state, f"pace:{record.tenant_id}:{record.id}", spec.rate)
    return VendorInstance(
        spec,
        config,
        auth,
        services.http,
        tenant=tenant,
        name=record.name,
        customers=record.customers,
        customer_slugs=record.customer_slugs,
        pacer=pacer,
    )


@dataclass(slots=True)
class _Live:
    entry: ConnectorEntry
    instance: VendorInstance | None
    connector: VendorConnector
    problem: str | None = None


class VendorProvider:
    family = "vendor"

    def __init__(self, tenant_id: str, slug: str, catalogue: TenantCatalogue, services: VendorServices) -> None:
        self.tenant_id = tenant_id
        self.slug = slug
        self._catalogue = catalogue
        self._services = services
        self._live: dict[str, _Live] = {}

    def apply(self, entries: Sequence[ConnectorEntry]) -> None:
        """Make the instances match the control plane's; an unchanged instance keeps its token and pacing."""
        wanted = {e.record.name: e for e in entries}
        changed = set(self._live) - set(wanted)
        for name in changed:
            del self._live[name]
        for name, entry in wanted.items():
            live = self._live.get(name)
            if live is not None and live.entry == entry:
                continue
            if live is not None and _same_instance(live.entry, entry) and live.instance is not None:
                live.instance.customers = dict(entry.record.customers)
                live.instance.customer_slugs = dict(entry.record.customer_slugs)
                live.entry = entry
                continue
            self._live[name] = self._build(name, entry)
            changed.add(name)
        if changed:
            self._catalogue.rebuild(publish="here")

    def _build(self, name: str, entry: ConnectorEntry) -> _Live:
        connector = VendorConnector(lambda: self.instance(name), name)
        try:
            return _Live(entry, instance_of(entry, self.slug, self._services), connector)
        except UnknownVendor:
            problem = f"this gateway has no {entry.record.kind} connector module"
            log.error("connector %s/%s: %s", self.slug, name, problem)
            return _Live(entry, None, connector, problem)

    def instance(self, name: str) -> VendorInstance | None:
        live = self._live.get(name)
        return live.instance if live is not None else None

    # provider contract -----------------------------------------------------------------------

    def sources(self) -> Sequence[Source]:
        return tuple(
            Source(
                self.family,
                name,
                True,
                Listing(tools=live.instance.definitions()) if live.instance is not None else Listing(),
                live.connector,
                live.entry.record.kind,
            )
            for name, live in self._live.items()
        )

    async def settle(self, within: float) -> None:
        return None

    def health(self) -> Mapping[str, Health]:
        out: dict[str, Health] = {}
        for name, live in self._live.items():
            if live.instance is None:
                out[name] = Health("unhealthy", live.problem)
                continue
            readiness = live.instance.readiness
            tools = len(live.instance.vendor.tools)
            out[name] = (
                Health("ok", None, None, tools)
                if readiness.ready
                else Health("unhealthy", readiness.describe(), None, tools)
            )
        return out

    def probe(self, quiet_for: float) -> None:
        return None

    async def refresh(self, instance: str, publish: Publish) -> None:
        return None

    def close(self) -> None:
        self._live.clear()


def _same_instance(old: ConnectorEntry, new: ConnectorEntry) -> bool:
    """Only the customer map differs: keep the running instance (its token, its pacing)."""
    a, b = old.record, new.record
    return (a.kind, a.base_url, a.token_url, dict(a.settings), a.updated_at) == (
        b.kind,
        b.base_url,
        b.token_url,
        dict(b.settings),
        b.updated_at,
    ) and dict(old.secrets) == dict(new.secrets)
