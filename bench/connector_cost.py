"""`python -m bench.connector_cost`: the gateway's CPU per vendor connector call (HaloPSA, against its fake).

The HaloPSA fake runs in a child process (`python -m msplex.sandbox.halopsa`), so its CPU is never
counted. This process runs a real `Gateway` with a `halopsa` connector instance on it and times
whole `tools/call`s through the real chain and dispatch (stages, the connector's argument
validation, scoping, the vendor HTTP request through httpx, redaction, the MCP result), as process
CPU per call, best of several rounds. The baseline row is the same Halo request made directly with
the same HTTP client (`httpx.AsyncClient.get` + JSON parse): what any client pays for the call.

The connector's pacer is kept but given a limit the benchmark cannot reach: in production it holds
the gateway to 270 Halo requests per 5 minutes (90 % of Halo's published 300), which would turn
this benchmark into a measurement of sleeping.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import MappingProxyType

import httpx

from bench._inproc import cli, tools_call
from bench.procs import spawn, wait_line
from msplex.call import Call
from msplex.connectors.framework import RateLimit, registry
from msplex.connectors.halopsa import VENDOR
from msplex.crypto import Keyring, token_digest
from msplex.gateway import Gateway
from msplex.state import open_state
from msplex.store.models import utcnow
from msplex.store.records import (
    ConnectorEntry,
    ConnectorRecord,
    ControlSnapshot,
    CustomerRecord,
    ItemRuleRecord,
    TenantRecord,
    TokenEntry,
)

__all__ = ["main"]

TENANT = "t-bench"
CUSTOMER = CustomerRecord("c-bench", TENANT, "contoso", "Contoso Ltd", utcnow())
TOKENS = {
    "member PAT": ("mspx_bench_member", TokenEntry(TENANT, "k-member", "member")),
    "customer PAT (scoped)": ("mspx_bench_customer", TokenEntry(TENANT, "k-cust", "customer", customer_id=CUSTOMER.id)),
}
ARGS = {"id": 5001, "include_actions": False}


def _snapshot(url: str) -> ControlSnapshot:
    tenant = TenantRecord(TENANT, "bench", "Bench", False, utcnow())
    now = utcnow()
    record = ConnectorRecord(
        "conn-bench", TENANT, "halopsa", "halopsa", url, None, {"client_id": "halo-client", "tenant_name": "msplex"},
        ("client_secret",), {"contoso": "11"}, now, now, {CUSTOMER.id: "contoso"},
    )  # fmt: skip
    return ControlSnapshot(
        version=1,
        tenants=MappingProxyType({tenant.slug: tenant}),
        tenants_by_id=MappingProxyType({tenant.id: tenant}),
        upstreams=MappingProxyType({}),
        tokens=MappingProxyType({token_digest(plain): entry for plain, entry in TOKENS.values()}),
        customers=MappingProxyType({CUSTOMER.id: CUSTOMER}),
        entities=MappingProxyType({}),
        oidc=MappingProxyType({}),
        rules=MappingProxyType({TENANT: (ItemRuleRecord("tool", "*", True, ("customer", "member", "admin"), 0),)}),
        connectors=MappingProxyType({TENANT: (ConnectorEntry(record, {"client_secret": "halo-secret"}),)}),
    )


def _call(bearer: str) -> Call:
    return tools_call("halopsa__get_ticket", ARGS, bearer)


async def _best_us(once: Callable[[], Awaitable[None]], calls: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            await once()
        best = min(best, (time.process_time() - started) / calls)
    return best * 1e6


async def _run(args: argparse.Namespace, log: Path) -> int:
    registry.register(dataclasses.replace(VENDOR, rate=RateLimit(requests=10**9, per_seconds=300)))
    argv = [sys.executable, "-m", "msplex.sandbox.halopsa", "--port", "0", "--rate-limit", str(10**9)]
    async with spawn(argv, log=log) as fake:
        url = f"http://127.0.0.1:{(await wait_line(log, 'READY ', proc=fake)).split()[1]}"
        state = open_state(None)
        await state.start()
        gateway = Gateway(Keyring([b"b" * 32]), state, server_info={"name": "msplex", "version": "bench"},
                          replica_id="bench", allow_private=True)  # fmt: skip
        try:
            await gateway.start()
            gateway.apply(_snapshot(url))
            rows: dict[str, float] = {}
            async with httpx.AsyncClient() as http:
                token = (await http.post(f"{url}/auth/token", params={"tenant": "msplex"}, data={
                    "grant_type": "client_credentials", "client_id": "halo-client", "client_secret": "halo-secret",
                })).json()["access_token"]  # fmt: skip
                headers = {"Authorization": f"Bearer {token}"}

                async def direct() -> None:
                    response = await http.get(f"{url}/api/Tickets/5001", headers=headers)
                    assert response.json()["id"] == 5001

                rows["direct httpx GET /api/Tickets/5001"] = await _best_us(direct, args.calls, args.rounds)
            for name, (bearer, _) in TOKENS.items():

                async def through(bearer: str = bearer) -> None:
                    _, result = await gateway.chain.run(_call(bearer))
                    assert result is not None and result["isError"] is False, result

                await through()  # token fetched, caches warm
                rows[f"msplex halopsa__get_ticket, {name}"] = await _best_us(through, args.calls, args.rounds)
        finally:
            await gateway.close()
            await state.close()
    base = next(iter(rows.values()))
    print(f"{'row':<52} {'µs CPU/call (best of ' + str(args.rounds) + ')':>26} {'vs direct':>12}")
    for name, us in rows.items():
        extra = "" if us == base else f"{us - base:+.0f} µs"
        print(f"{name:<52} {us:>26.0f} {extra:>12}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli("python -m bench.connector_cost", __doc__, 500, ".cache/bench/connector-fake.log", _run, argv)


if __name__ == "__main__":
    sys.exit(main())
