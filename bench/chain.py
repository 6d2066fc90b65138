"""`python -m bench.chain`: the enforcement chain's own CPU per `tools/call`, per kind of identity.

The end-to-end rows of `make bench` measure a whole gateway process under load, where a few
microseconds disappear in the noise of a shared machine. This runs the real chain of a real
`Gateway` in this process (real catalogue, listed from the echo upstream over HTTP; the identity
provider a real HTTP server), builds one `tools/call` per identity and times only the stages
(not dispatch, which is the same for every identity): process CPU per call, the minimum of
several rounds, so other processes on the machine can only make a round slower, never faster.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bench.idp import AUDIENCE, BenchIdp
from bench.procs import spawn, wait_line
from msplex.call import Call, Credential
from msplex.chain import Chain
from msplex.crypto import Keyring, token_digest
from msplex.gateway import Gateway
from msplex.identity.oidc import OidcProvider
from msplex.state import open_state
from msplex.store.models import utcnow
from msplex.store.records import (
    ITEM_KINDS,
    ControlSnapshot,
    CustomerRecord,
    ItemRuleRecord,
    TenantRecord,
    TokenEntry,
    UpstreamEntry,
)
from msplex.upstream import UpstreamSpec

__all__ = ["main"]

TENANT = "t-bench"
CUSTOMER = CustomerRecord("c-bench", TENANT, "alpha", "Alpha Ltd", utcnow())
TOKENS = {
    "member PAT": ("mspx_bench_member", TokenEntry(TENANT, "k-member", "member")),
    "scoped PAT": ("mspx_bench_scoped", TokenEntry(TENANT, "k-scoped", "member", tools=("ev__echo", "ev__e*"))),
    "customer PAT": ("mspx_bench_customer", TokenEntry(TENANT, "k-customer", "customer", customer_id=CUSTOMER.id)),
}


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None:
        pass

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        raise RuntimeError("no back-channel")


def _snapshot(upstream_url: str) -> ControlSnapshot:
    tenant = TenantRecord(TENANT, "bench", "Bench", False, utcnow())
    every = ("customer", "member", "admin")
    rules = tuple(ItemRuleRecord(kind, "*", True, every, i) for i, kind in enumerate(ITEM_KINDS))
    entry = UpstreamEntry("u-bench", UpstreamSpec(TENANT, "ev", "http", url=upstream_url), True, utcnow())
    return ControlSnapshot(
        version=1,
        tenants=MappingProxyType({tenant.slug: tenant}),
        tenants_by_id=MappingProxyType({tenant.id: tenant}),
        upstreams=MappingProxyType({TENANT: (entry,)}),
        tokens=MappingProxyType({token_digest(plain): entry for plain, entry in TOKENS.values()}),
        customers=MappingProxyType({CUSTOMER.id: CUSTOMER}),
        entities=MappingProxyType({}),
        oidc=MappingProxyType({}),
        rules=MappingProxyType({TENANT: rules}),
    )


def _call(bearer: str) -> Call:
    return Call(
        method="tools/call",
        params={"name": "ev__echo", "arguments": {"text": "hello"}},
        request_id=1,
        era="modern",
        protocol_version="2026-07-28",
        client_capabilities={},
        peer=_Peer(),
        tenant_slug="bench",
        credential=Credential(bearer),
    )


async def _stages_cpu_us(chain: Chain, bearer: str, calls: int, rounds: int) -> float:
    """Process CPU per call of the chain's stages (µs), best of ``rounds``. A fresh ``Call`` per
    request, as the edge builds one, so per-credential work (its digest) is counted."""
    stages: list[Callable[[Call], Awaitable[Call]]] = list(chain.stages)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            call = _call(bearer)
            for stage in stages:
                call = await stage(call)
        best = min(best, (time.process_time() - started) / calls)
    return best * 1e6


async def _run(args: argparse.Namespace, log: Path) -> int:
    async with spawn([sys.executable, "-m", "bench.upstream", "--port", "0"], log=log) as up:
        port = int((await wait_line(log, "READY ", proc=up)).split()[1])
        idp = BenchIdp()
        state = open_state(None)
        await state.start()
        gateway = Gateway(
            Keyring([b"b" * 32]),
            state,
            server_info={"name": "msplex", "version": "bench"},
            replica_id="bench",
            oidc=OidcProvider(issuer=idp.issuer, audience=AUDIENCE, allow_http=True),
            allow_private=True,
        )
        try:
            await gateway.start()
            gateway.apply(_snapshot(f"http://127.0.0.1:{port}/mcp"))
            catalogue = gateway.catalogue(TENANT)
            assert catalogue is not None
            await catalogue.settle(10)
            bearers = {name: plain for name, (plain, _) in TOKENS.items()}
            bearers["OIDC token (cached verdict)"] = idp.mint({"msplex_tenant": "bench"})
            for bearer in bearers.values():  # every stage's caches warm, and the call must clear
                cleared = _call(bearer)
                for stage in gateway.chain.stages:
                    cleared = await stage(cleared)
                assert cleared.target is not None and cleared.target.name == "echo"
            print(f"chain stages: {', '.join(s.name.value for s in gateway.chain.stages)}")
            print(f"{'identity':<30} {'µs CPU per tools/call (best of ' + str(args.rounds) + ')':>40}")
            base: float | None = None
            for name, bearer in bearers.items():
                us = await _stages_cpu_us(gateway.chain, bearer, args.calls, args.rounds)
                base = us if base is None else base
                delta = "" if name == "member PAT" else f"   ({us - base:+.1f} µs vs member PAT)"
                print(f"{name:<30} {us:>40.1f}{delta}")
        finally:
            await gateway.close()
            await state.close()
            idp.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__)
    p.add_argument("--calls", type=int, default=20_000, help="calls per round (20000)")
    p.add_argument("--rounds", type=int, default=5, help="rounds; the best is reported (5)")
    log = Path(".cache/bench/chain-upstream.log")
    log.unlink(missing_ok=True)  # spawn appends: an old READY line would name a dead port
    return asyncio.run(_run(p.parse_args(argv), log))


if __name__ == "__main__":
    sys.exit(main())
