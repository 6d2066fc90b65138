"""The sandbox behind ``msplex serve --demo`` (so ``make run``): the five vendor fakes, connected to tenant ``demo``.

``start`` serves each fake on 127.0.0.1, a free port each, inside the gateway's process: one uvicorn server
for all five in one daemon thread with its own event loop (``_server.serve_many_in_thread``), so the sandbox
idles as one loop, not five. In-process rather than child processes because a child costs an interpreter
(~1 s of start-up and ~30 MiB each, five times), and a thread cannot outlive the gateway however it dies; the
connectors still reach the fakes over real HTTP, as they would a vendor's cloud. Every start makes fresh
credentials, so nothing well known opens a fake.

``seed`` then does what an operator would, through the same services: ``connect`` (live validation,
credentials sealed in the vault) per vendor, the read-only tools enabled (``enable_tools``), two customers
created and mapped by ``discover``'s name matching. It is idempotent: a restart creates nothing twice and
only re-points the instances (and their sealed credentials) at this run's fakes. An instance of the same
name the operator pointed elsewhere (not 127.0.0.1) is left alone.

The test seeds of the HaloPSA and Hudu fakes name their two customers Contoso and Fabrikam, the other three
Acme and Globex; the demo renames the former (and ConnectWise's ``Globex "Intl" Ltd``, a quoting test case)
so all five tell one story: Acme Corporation and Globex Ltd.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from msplex.connectors.framework.registry import vendor as vendor_of
from msplex.connectors.manage import VALIDATE_TIMEOUT, connect, discover, enable_tools
from msplex.sandbox._server import Running, serve_many_in_thread
from msplex.store import Store

__all__ = ["CUSTOMERS", "KINDS", "Sandbox", "Seeded", "seed", "start"]

KINDS = ("halopsa", "hudu", "connectwise", "pax8", "ninjaone")
CUSTOMERS = (("acme", "Acme Corporation"), ("globex", "Globex Ltd"))
AUDIENCES = ("admin", "member", "customer")
"""Who sees the demo's read-only tools: customers too, so a customer-bound token shows the scoping."""
SANDBOX_HOST = "http://127.0.0.1:"

_RENAMES: dict[str, Mapping[str, str]] = {
    "halopsa": {"Contoso": "Acme", "contoso": "acme", "Fabrikam": "Globex", "fabrikam": "globex"},
    "hudu": {"Contoso": "Acme", "contoso": "acme", "Fabrikam": "Globex", "fabrikam": "globex"},
    "connectwise": {'"Intl" ': ""},
}


@dataclass(frozen=True)
class Fake:
    """One served fake and what ``msplex connect`` needs to reach it."""

    kind: str
    port: int
    base_url: str
    settings: dict[str, str]
    secrets: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class Sandbox:
    running: Running
    fakes: tuple[Fake, ...]

    def stop(self) -> None:
        """Stop the fakes' server and wait for its thread (a few tenths of a second)."""
        self.running.stop()


def _rename(tree: Any, names: Mapping[str, str]) -> None:
    """Replace ``names`` in every string value of a seed, in place (records that share a dict stay shared)."""
    items: Any = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in list(items):
        if isinstance(value, str):
            for old, new in names.items():
                value = value.replace(old, new)
            tree[key] = value
        else:
            _rename(value, names)


def _apps() -> list[tuple[str, Any, str, dict[str, str], dict[str, str]]]:
    """(kind, ASGI app, API path under the root, settings, secrets) for each fake, with fresh credentials."""
    from msplex.sandbox import connectwise, halopsa, hudu, ninjaone, pax8

    def secret() -> str:
        return secrets.token_urlsafe(18)

    halo_secret, hudu_key, cw_private, pax8_secret, ninja_secret = (secret() for _ in range(5))
    halo = halopsa.HaloFake(applications=[halopsa.Application("demo-halo", halo_secret)])
    huduf = hudu.HuduFake((hudu_key,))
    cw = connectwise.ConnectWiseFake(members=[connectwise.ApiMember("msplex", "demo-public", cw_private)])
    p8 = pax8.Pax8Fake(applications=[pax8.Application("demo-pax8", pax8_secret)])
    ninja = ninjaone.NinjaOneFake(applications=[ninjaone.Application("demo-ninja", ninja_secret)])
    _rename(halo.store, _RENAMES["halopsa"])
    _rename(huduf.data, _RENAMES["hudu"])
    _rename(cw.store, _RENAMES["connectwise"])
    return [
        (
            "halopsa",
            halo.app,
            "",
            {"client_id": "demo-halo", "tenant_name": halo.tenant or ""},
            {"client_secret": halo_secret},
        ),
        ("hudu", huduf, "", {}, {"api_key": hudu_key}),
        (
            "connectwise",
            cw.app,
            "",
            {"company_id": "msplex", "public_key": "demo-public", "client_id": connectwise.DEFAULT_CLIENT_ID},
            {"private_key": cw_private},
        ),
        ("pax8", p8.app, "/v1", {"client_id": "demo-pax8"}, {"client_secret": pax8_secret}),
        ("ninjaone", ninja.app, "", {"client_id": "demo-ninja"}, {"client_secret": ninja_secret}),
    ]


def _not_a_fake(record: logging.LogRecord) -> bool:
    """The fakes' own uvicorn start and stop lines would read as the gateway's: keep only their warnings."""
    return record.levelno >= logging.WARNING or not (record.threadName or "").startswith("sandbox-")


def start() -> Sandbox:
    """Serve the five fakes on 127.0.0.1 (free ports), behind one server in one thread."""
    logging.getLogger("uvicorn.error").addFilter(_not_a_fake)
    apps = _apps()
    running, ports = serve_many_in_thread([app for _, app, _, _, _ in apps])
    fakes = tuple(
        Fake(kind, port, f"http://127.0.0.1:{port}{api}", settings, creds)
        for (kind, _, api, settings, creds), port in zip(apps, ports, strict=True)
    )
    return Sandbox(running, fakes)


@dataclass
class Seeded:
    """What ``seed`` found and did, for the start-up banner."""

    connected: list[tuple[str, str, int]] = field(default_factory=list)
    """(instance, base URL, read-only tools enabled on first seeding: 0 on a restart)."""
    repointed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    """Instances of the demo's names the operator pointed elsewhere: (name, base URL), left alone."""
    customers_created: list[str] = field(default_factory=list)
    mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    """Customer slug -> {instance: vendor id}, after seeding."""
    unmapped: list[str] = field(default_factory=list)
    """Why a demo customer is not mapped in an instance (should stay empty)."""
    read_only_tools: int = 0


async def seed(store: Store, tenant: str, sandbox: Sandbox) -> Seeded:
    """Connect ``tenant`` to the sandbox's fakes (see the module docstring); ``ConnectFailed`` on a failure."""
    scope = store.tenant(tenant)
    done = Seeded()
    have = {c.slug for c in await scope.list_customers()}
    for slug, name in CUSTOMERS:
        if slug not in have:
            await scope.create_customer(slug, name)
            done.customers_created.append(slug)
    existing = {r.name: r for r in await scope.connectors.list()}
    async with httpx.AsyncClient(timeout=VALIDATE_TIMEOUT, follow_redirects=False) as http:
        mine = []
        for fake in sandbox.fakes:
            known = existing.get(fake.kind)
            if known is not None and (known.kind != fake.kind or not known.base_url.startswith(SANDBOX_HOST)):
                done.kept.append((fake.kind, known.base_url))
            else:
                mine.append(fake)
        # concurrently: each waits mostly on its fake's answers and the database, not on the others
        await asyncio.gather(*(_seed_one(store, tenant, fake, http, done) for fake in mine))
    done.connected.sort(key=lambda c: KINDS.index(c[0]))
    done.repointed.sort(key=KINDS.index)
    demo_slugs = {slug for slug, _ in CUSTOMERS}
    for record in await scope.connectors.list():
        if record.kind in KINDS and record.name not in dict(done.kept):
            for slug, vendor_id in record.customers.items():
                if slug in demo_slugs:
                    done.mappings.setdefault(slug, {})[record.name] = vendor_id
    return done


async def _seed_one(store: Store, tenant: str, fake: Fake, http: httpx.AsyncClient, done: Seeded) -> None:
    """Connect (or re-point) one instance; on its first seeding enable its read-only tools; map the customers."""
    scope = store.tenant(tenant)
    name = fake.kind
    connected = await connect(
        store,
        tenant,
        fake.kind,
        name=name,
        base_url=fake.base_url,
        token_url=None,
        settings=fake.settings,
        secrets=fake.secrets,
        http=http,
    )
    enabled = 0
    if connected.created:
        # the demo tenant's "*" rule would enable the write tools too: this newer rule turns them off
        await scope.set_rule("tool", f"{name}__*", enabled=False)
        await enable_tools(store, tenant, connected, "read-only", audiences=AUDIENCES)
        enabled = sum(1 for _, read_only in connected.tools if read_only)
    else:
        done.repointed.append(name)
    done.connected.append((name, fake.base_url, enabled))
    done.read_only_tools += sum(1 for _, read_only in connected.tools if read_only)
    demo_slugs = {slug for slug, _ in CUSTOMERS}
    for proposal in await discover(store, tenant, name, http=http):
        if proposal.customer not in demo_slugs:
            continue
        if proposal.verdict == "match" and proposal.vendor_id is not None:
            await scope.connectors.map_customer(proposal.customer, name, proposal.vendor_id)
        elif proposal.verdict != "mapped":
            done.unmapped.append(f"{proposal.customer} in {name}: {proposal.describe()}")


def banner(seeded: Seeded, tenant: str, command: str) -> list[str]:
    """The lines ``msplex serve --demo`` prints: what runs where, and how to make a first call."""
    lines = [f"Sandbox: {len(seeded.connected)} vendor fakes on 127.0.0.1 (in this process; they stop with it):"]
    for name, url, _ in seeded.connected:
        title = vendor_of(name).title
        state = "re-pointed" if name in seeded.repointed else "connected, read-only tools enabled"
        lines.append(f"  {name:<12} {title:<16} {url}  ({state})")
    for name, url in seeded.kept:
        lines.append(f"  {name:<12} left as the operator set it ({url}), not a sandbox fake")
    created = f" (created: {', '.join(seeded.customers_created)})" if seeded.customers_created else ""
    lines.append(f"Demo customers of tenant '{tenant}'{created}, mapped to their vendor ids:")
    for slug, name in CUSTOMERS:
        ids = ", ".join(f"{inst} {vid}" for inst, vid in sorted(seeded.mappings.get(slug, {}).items()))
        lines.append(f"  {slug:<7} {name:<17} {ids or 'not mapped'}")
    lines += [f"  not mapped: {why}" for why in seeded.unmapped]
    lines += [
        f"{seeded.read_only_tools} read-only tools on (write tools off; enable one: "
        f"{command} tool enable NAME --tenant {tenant}). Try halopsa__search_tickets or ninjaone__list_devices.",
        f"Call them from a client: {command} client-config --tenant {tenant} --client claude-code --new-token laptop",
        f"As customer Acme (its records only): {command} token create --tenant {tenant} --role customer "
        "--customer acme",
    ]
    return lines
