"""CPU per vendor connector tool call, for every vendor, against its fake in another process.

``python -m bench.vendor_call [--calls N] [--rounds R] [--only KINDS]`` serves the five vendor fakes
(HaloPSA, Hudu, ConnectWise, Pax8, NinjaOne) in one child process (their CPU is never counted), sets
up a fresh ``MSPLEX_HOME`` with the CLI as an operator would (``tenant create``, ``connect KIND``,
``customer create``/``map``, ``tool enable``, ``token create``), starts a real ``msplex serve`` and
prints, per vendor, CPU per ``tools/call`` of a read tool (one record):

- **direct**: this process replaying the very vendor request(s) the connector makes (captured from a
  first call), with plain ``httpx`` (its own httpcore transport) and with plain ``aiohttp``;
- **framework**: ``VendorInstance.call`` in this process over the gateway's vendor client (httpx over
  ``AiohttpTransport``): validation, scope, pacing, vault auth, the request, translation, redaction,
  the JSON text, without the edge and the chain;
- **member / customer**: the ``msplex serve`` process's own CPU (utime+stime of its process tree from
  ``/proc``) per ``tools/call`` driven by the load generator (``bench.loadgen``) from another process,
  with a member token and with a customer-bound token (which adds the ownership scope).

Each figure is the best of ``--rounds`` rounds of ``--calls`` sequential calls (a shared machine can
only make a round slower). Pacing: every vendor's published limit would make the gateway wait
(Halo: 270 requests per 5 minutes), so the bench raises each vendor's limit to 10^9 requests a
second, in the gateway (``bench._vendor_serve``) and in this process; the pacer itself still runs
and is charged. The fakes' own rate windows are lifted likewise.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

from bench._vendor_serve import LIFTED, lift_pacing
from bench.procs import free_port, run_cmd, spawn, wait_http, wait_line
from bench.runner import Endpoint, run_load
from msplex.connectors.framework import InstanceConfig, VendorInstance, registry
from msplex.connectors.framework.transport import AiohttpTransport
from msplex.sandbox._pax8_seed import GLOBEX as PAX8_GLOBEX
from msplex.sandbox._pax8_seed import pid
from msplex.sandbox.connectwise import DEFAULT_CLIENT_ID
from msplex.sandbox.hudu import DEMO_KEY
from msplex.vault import build_auth

__all__ = ["CASES", "main"]

ROOT = Path(__file__).resolve().parents[1]
TENANT = "bench"
CUSTOMER = "globex"

FAKES = """
import threading
from msplex.sandbox._server import serve_in_thread
from msplex.sandbox.connectwise import ConnectWiseFake
from msplex.sandbox.halopsa import HaloFake
from msplex.sandbox.hudu import HuduFake
from msplex.sandbox.ninjaone import NinjaOneFake
from msplex.sandbox.pax8 import Pax8Fake
big = 10**9
ports = {
    "halopsa": serve_in_thread(HaloFake(rate_limit=big).app).port,
    "hudu": HuduFake(limit=big).start().port,
    "connectwise": serve_in_thread(ConnectWiseFake(rate_limit=big).app).port,
    "pax8": serve_in_thread(Pax8Fake(rate_limit=big).app).port,
    "ninjaone": serve_in_thread(NinjaOneFake(rate_limit=big).app).port,
}
print("READY " + " ".join(f"{k}={v}" for k, v in ports.items()), flush=True)
threading.Event().wait()
"""


@dataclasses.dataclass(frozen=True)
class Case:
    """One vendor's row: the read tool, its arguments, the bench customer's id at the vendor (it owns
    the record), and the instance's settings and secrets (as ``msplex connect`` flags and as the
    framework row's ``InstanceConfig``)."""

    kind: str
    tool: str
    args: dict[str, Any]
    vendor_id: str
    settings: dict[str, str]
    secrets: dict[str, str]
    base_path: str = ""

    def connect_flags(self) -> list[str]:
        options = {f.field: f.option for f in registry.vendor(self.kind).flags}
        return [x for key, value in {**self.settings, **self.secrets}.items() for x in (options[key], value)]


CASES = (
    Case("halopsa", "get_ticket", {"id": 5001, "include_actions": False}, "11",
         {"client_id": "halo-client", "tenant_name": "msplex"}, {"client_secret": "halo-secret"}),
    Case("hudu", "company_get", {"company_id": 1}, "1", {}, {"api_key": DEMO_KEY}),
    Case("connectwise", "get_company", {"id": 251}, "251",
         {"company_id": "msplex", "public_key": "pubkey", "client_id": DEFAULT_CLIENT_ID}, {"private_key": "privkey"}),
    Case("pax8", "get_subscription", {"subscription_id": pid("subscription:9")}, PAX8_GLOBEX,
         {"client_id": "pax8-client"}, {"client_secret": "pax8-secret"}, "/v1"),
    Case("ninjaone", "get_device", {"device_id": 53}, "2", {"client_id": "ninja-client"},
         {"client_secret": "ninja-secret"}),
)  # fmt: skip

ROWS = ("direct httpx", "direct aiohttp", "direct vendor client", "framework", "member", "customer")
HEADS = ("httpx", "aiohttp", "vendor client", "framework", "member", "customer")
_CLIENT_HEADERS = {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"}


async def _best(calls: int, rounds: int, step: Callable[[], Awaitable[Any]]) -> float:
    """µs of this process's CPU per ``step``, best of ``rounds`` (after a short warm-up)."""
    for _ in range(min(50, calls)):
        await step()
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            await step()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


async def _in_process(case: Case, base: str, calls: int, rounds: int) -> tuple[dict[str, float], int]:
    """The direct and framework rows, and how many vendor requests one call makes."""
    vendor = lift_pacing(registry.vendor(case.kind))
    config = InstanceConfig(base, None, case.settings)
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as spy,
        httpx.AsyncClient(transport=AiohttpTransport()) as client,  # the gateway's vendor client
    ):
        probe = VendorInstance(vendor, config, build_auth(vendor, config, case.secrets, spy), spy, tenant=TENANT)
        assert (await probe.call(case.tool, case.args))["isError"] is False
        seen.clear()
        result = await probe.call(case.tool, case.args)  # the token is cached now: only the tool's requests
        assert result["isError"] is False, result
        requests = [(r.method, str(r.url), {k: v for k, v in r.headers.items() if k not in _CLIENT_HEADERS})
                    for r in seen]  # fmt: skip

        instance = VendorInstance(vendor, config, build_auth(vendor, config, case.secrets, client), client,
                                  tenant=TENANT, customers={CUSTOMER: case.vendor_id})  # fmt: skip

        async def framework() -> None:
            assert (await instance.call(case.tool, case.args, customer=CUSTOMER))["isError"] is False

        async def direct_client() -> None:
            for method, url, headers in requests:
                response = await client.request(method, url, headers=headers)
                assert response.status_code == 200
                orjson.loads(response.content)

        rows = {"direct vendor client": await _best(calls, rounds, direct_client)}
        rows["framework"] = await _best(calls, rounds, framework)
    async with httpx.AsyncClient() as plain:  # httpx's own transport (httpcore)

        async def direct_httpx() -> None:
            for method, url, headers in requests:
                response = await plain.request(method, url, headers=headers)
                assert response.status_code == 200
                orjson.loads(response.content)

        rows["direct httpx"] = await _best(calls, rounds, direct_httpx)
    async with aiohttp.ClientSession() as session:

        async def direct_aiohttp() -> None:
            for method, url, headers in requests:
                async with session.request(method, url, headers=headers) as response:
                    assert response.status == 200
                    orjson.loads(await response.read())

        rows["direct aiohttp"] = await _best(calls, rounds, direct_aiohttp)
    return rows, len(requests)


async def _through_gateway(url: str, pid: int, token: str, case: Case, calls: int, rounds: int) -> float:
    """µs of the gateway process tree's CPU per ``tools/call`` (load generator in its own process)."""
    endpoint = Endpoint(url=url, tool=f"{case.kind}__{case.tool}", roots=(pid,),
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    best = float("inf")
    for round_ in range(rounds + 1):  # round 0 (20 calls) warms the instance up (token, caches) and is dropped
        m = await run_load(endpoint, clients=1, seconds=300, era="modern", max_calls=calls if round_ else 20,
                           arguments=case.args)  # fmt: skip
        if m.errors:
            raise SystemExit(f"{case.kind}: {m.errors} failed calls through the gateway: {m.error_samples}")
        if round_:
            best = min(best, m.target_cpu_ms_per_call * 1000)
    return best


async def _run(args: argparse.Namespace) -> dict[str, tuple[dict[str, float], int]]:
    cases = [c for c in CASES if not args.only or c.kind in args.only.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-vendor-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    port = free_port()
    gw_env = {**env, "MSPLEX_HOME": str(work / "home"), "MSPLEX_HOST": "127.0.0.1", "MSPLEX_PORT": str(port)}
    gw_env.pop("MSPLEX_DATABASE_URL", None)
    cli = [sys.executable, "-m", "bench._vendor_serve"]

    async def msplex(*argv: str) -> str:
        return (await run_cmd([*cli, *argv], env=gw_env)).strip()

    results: dict[str, tuple[dict[str, float], int]] = {}
    async with spawn([sys.executable, "-c", FAKES], log=work / "fakes.log", env=env) as fakes:
        ready = await wait_line(work / "fakes.log", "READY ", proc=fakes)
        ports = dict(kv.split("=") for kv in ready.split()[1:])
        bases = {c.kind: f"http://127.0.0.1:{ports[c.kind]}{c.base_path}" for c in cases}
        await msplex("tenant", "create", TENANT)
        await msplex("customer", "create", CUSTOMER, "-t", TENANT, "--name", "Globex Ltd")
        for case in cases:
            await msplex("connect", case.kind, "-t", TENANT, "--base-url", bases[case.kind], *case.connect_flags(),
                         "--enable", "read-only")  # fmt: skip
            await msplex("customer", "map", CUSTOMER, "-t", TENANT, "--connector", case.kind,
                         "--vendor-id", case.vendor_id)  # fmt: skip
            await msplex("tool", "enable", f"{case.kind}__*", "-t", TENANT, "--audience", "customer,member")
        member = (await msplex("token", "create", "-t", TENANT)).splitlines()[-1]
        bound = await msplex("token", "create", "-t", TENANT, "--role", "customer", "--customer", CUSTOMER)
        bound = bound.splitlines()[-1]
        async with spawn([*cli, "serve"], log=work / "gateway.log", env=gw_env) as gateway:
            await wait_http(f"http://127.0.0.1:{port}/healthz", proc=gateway, log=work / "gateway.log", ok=None)
            mcp = f"http://127.0.0.1:{port}/mcp/v1/{TENANT}"
            for case in cases:
                rows, requests = await _in_process(case, bases[case.kind], args.calls, args.rounds)
                rows["member"] = await _through_gateway(mcp, gateway.pid, member, case, args.calls, args.rounds)
                rows["customer"] = await _through_gateway(mcp, gateway.pid, bound, case, args.calls, args.rounds)
                results[case.kind] = rows, requests
                _print_row(case, rows, requests)
    return results


def _print_header(args: argparse.Namespace) -> None:
    print(f"µs CPU per tools/call, best of {args.rounds} rounds of {args.calls} sequential calls; fakes in another")
    print(f"process. Pacing: each vendor's limit raised to {LIFTED.requests:.0e} requests/{LIFTED.per_seconds:.0f} s "
          "for the bench (the pacer still runs); the fakes' rate windows lifted too.")  # fmt: skip
    print("httpx / aiohttp / vendor client = this process replaying the connector's own vendor request(s) with plain")
    print("httpx, plain aiohttp, and the gateway's vendor client (httpx over AiohttpTransport); framework =")
    print("VendorInstance.call over the vendor client; member / customer = the `msplex serve` process's CPU (/proc)")
    print("per tools/call, driven from a separate load generator; +framework = framework - vendor client;")
    print("+edge+chain = member - framework.")
    print(
        f"{'vendor tool':<30} {'reqs':>4} "
        + " ".join(f"{r:>13}" for r in HEADS)
        + f" {'+framework':>11} {'+edge+chain':>12}"
    )


def _print_row(case: Case, rows: dict[str, float], requests: int) -> None:
    name = f"{case.kind}__{case.tool}"
    cells = " ".join(f"{rows[r]:>13.0f}" for r in ROWS)
    plus_fw = rows["framework"] - rows["direct vendor client"]
    plus_edge = rows["member"] - rows["framework"]
    print(f"{name:<30} {requests:>4} {cells} {plus_fw:>+11.0f} {plus_edge:>+12.0f}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vendor_call", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round (300)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is reported (3)")
    parser.add_argument("--only", default="", help="comma-separated vendor kinds (default: all five)")
    args = parser.parse_args(argv)
    _print_header(args)
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
