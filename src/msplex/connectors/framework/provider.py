"""A tenant's vendor connector instances as a catalogue provider (family ``vendor``).

Each instance lists its vendor's tools under ``{instance}__{tool}`` (the instance name defaults to
the vendor kind), with ``Target.vendor`` set to the kind. Tools are declared by code, so listing
needs no vendor request and an instance is listed as soon as it is configured; its health is its
readiness (what chain stage 7 reads): ``ok`` until the vendor rejects its credentials or a token
renewal fails, then ``unhealthy`` with the reason and the command that fixes it (``Health.fix``).
While it is not ready the chain refuses its calls and lists leave its tools out, so ``probe``
re-runs the vendor's live check, with a doubling backoff, until it passes (or the instance is
reconfigured); each change of readiness is announced as a tools list change. Every instance of
every tenant shares one HTTP client (pooled connections); pacing and token state are per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from msplex.catalogue.listing import Listing, Source
from msplex.catalogue.provider import Health, Publish
from msplex.connectors.framework.connector import VendorConnector
from msplex.connectors.framework.errors import VendorError
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
    tenant_http: httpx.AsyncClient | None = None
    """For instances a tenant registered: connects to public addresses only (``guard``); ``None``: ``http``."""

    def client_for(self, registered_by: str) -> httpx.AsyncClient:
        return self.tenant_http if registered_by == "tenant" and self.tenant_http is not None else self.http


def fix_for(record: ConnectorRecord, tenant: str) -> str:
    return f"run `msplex connect {record.kind} --tenant {tenant} --instance {record.name}`"


def instance_of(entry: ConnectorEntry, tenant: str, services: VendorServices) -> VendorInstance:
    """Build the running instance of a stored connector (``UnknownVendor`` when its module is missing)."""
    record = entry.record
    spec = vendor(record.kind)
    client = services.client_for(record.registered_by)
    config = InstanceConfig(record.base_url, record.token_url, dict(record.settings))
    tokens = services.tokens(tenant, record.name) if services.tokens is not None else MemoryTokens()
    auth = build_auth(
        spec,
        config,
        entry.secrets,
        client,
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
        client,
        tenant=tenant,
        name=record.name,
        customers=record.customers,
        customer_slugs=record.customer_slugs,
        pacer=pacer,
    )


RECHECK_MIN = 10.0
RECHECK_MAX = 300.0


@dataclass(slots=True)
class _Live:
    entry: ConnectorEntry
    instance: VendorInstance | None
    connector: VendorConnector
    problem: str | None = None
    check: asyncio.Task[None] | None = None
    """The live check re-run while not ready."""
    next_check: float = 0.0
    backoff: float = 0.0


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
            _stop(self._live.pop(name))
        for name, entry in wanted.items():
            live = self._live.get(name)
            if live is not None and live.entry == entry:
                continue
            if live is not None and _same_instance(live.entry, entry) and live.instance is not None:
                live.instance.customers = dict(entry.record.customers)
                live.instance.customer_slugs = dict(entry.record.customer_slugs)
                live.entry = entry
                continue
            if live is not None:
                _stop(live)
            self._live[name] = self._build(name, entry)
            changed.add(name)
        if changed:
            self._catalogue.rebuild(publish="here")

    def _build(self, name: str, entry: ConnectorEntry) -> _Live:
        connector = VendorConnector(lambda: self.instance(name), name)
        try:
            instance = instance_of(entry, self.slug, self._services)
        except UnknownVendor:
            problem = f"this gateway has no {entry.record.kind} connector module"
            log.error("connector %s/%s: %s", self.slug, name, problem)
            return _Live(entry, None, connector, problem)
        instance.on_readiness = lambda: self._catalogue.rebuild(("tools",), "here", name)
        return _Live(entry, instance, connector)

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
                out[name] = Health("unhealthy", live.problem, fix="install the vendor's connector module")
                continue
            readiness = live.instance.readiness
            tools = len(live.instance.vendor.tools)
            if readiness.ready:
                out[name] = Health("ok", None, None, tools)
            else:
                out[name] = Health("unhealthy", readiness.reason, None, tools, readiness.fix)
        return out

    def probe(self, quiet_for: float) -> None:
        """Re-run the live check of instances that are not ready (their calls are refused meanwhile)."""
        now = time.monotonic()
        for live in self._live.values():
            instance = live.instance
            if instance is None or instance.readiness.ready:
                live.backoff = 0.0
                continue
            if (live.check is not None and not live.check.done()) or now < live.next_check:
                continue
            live.backoff = min(max(RECHECK_MIN, live.backoff * 2), RECHECK_MAX)
            live.next_check = now + live.backoff
            live.check = asyncio.get_running_loop().create_task(_recheck(instance))

    async def refresh(self, instance: str, publish: Publish) -> None:
        return None

    def close(self) -> None:
        for live in self._live.values():
            _stop(live)
        self._live.clear()


async def _recheck(instance: VendorInstance) -> None:
    with contextlib.suppress(VendorError):  # still not ready: validate() recorded why
        await instance.validate()


def _stop(live: _Live) -> None:
    if live.check is not None:
        live.check.cancel()


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
