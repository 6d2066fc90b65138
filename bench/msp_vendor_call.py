"""CPU per Pax8 and NinjaOne tool call against their fakes: what the connectors add to a plain HTTP read.

``python -m bench.msp_vendor_call [--calls N]`` serves both fakes in another process (their CPU is not
counted), then measures this process's CPU per call of, for each vendor: a plain ``httpx`` GET of one
record with a bearer token (the baseline), ``VendorInstance.call`` of the connector's get tool
(validation, scope, pacing, OAuth headers, translation, redaction), and ``tools/call`` through the
gateway's edge and chain in process, as a member and as a customer-bound identity (which adds the
ownership check; Pax8's and NinjaOne's get tools read the record once either way). The fakes'
rate windows and the connectors' own pacing are lifted, so the rows measure CPU, not waiting. Best
of three rounds, as ``bench.vendor_call``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bench.vendor_call import MODERN, _per_call

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]

from msplex.connectors import ninjaone, pax8  # noqa: E402
from msplex.connectors.framework import InstanceConfig, Vendor, VendorInstance, registry  # noqa: E402
from msplex.sandbox._pax8_seed import GLOBEX, pid  # noqa: E402
from msplex.store.models import utcnow  # noqa: E402
from msplex.store.records import (  # noqa: E402
    ConnectorEntry,
    ConnectorRecord,
    CustomerRecord,
    ItemRuleRecord,
    TokenEntry,
)
from msplex.vault import build_auth  # noqa: E402

FAKES = """
import sys, threading; sys.path[:0] = [{paths}]
from msplex.sandbox._server import serve_in_thread
from msplex.sandbox.pax8 import Pax8Fake
from msplex.sandbox.ninjaone import NinjaOneFake
serve_in_thread(Pax8Fake(rate_limit=10**9).app, {pax8})
serve_in_thread(NinjaOneFake(rate_limit=10**9).app, {ninja})
print("READY", flush=True)
threading.Event().wait()
"""


@dataclasses.dataclass(frozen=True)
class Case:
    vendor: Vendor
    base: str
    settings: dict[str, str]
    secrets: dict[str, str]
    customers: dict[str, str]
    tool: str
    args: dict[str, Any]
    record_path: str


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _measure(case: Case, calls: int) -> dict[str, float]:
    from support.inproc import snapshot, start

    vendor = dataclasses.replace(case.vendor, rate=None)
    registry.register(vendor)
    kind = vendor.kind
    now = utcnow()
    globex = CustomerRecord("c-g", "t1", "globex", "Globex Ltd", now)
    record = ConnectorRecord("c1", "t1", kind, kind, case.base, None, case.settings, tuple(case.secrets),
                             case.customers, now, now, {"c-g": "globex"})  # fmt: skip
    snap = snapshot(
        [("t1", "north", False)],
        {"mspx_member": TokenEntry("t1", "k1", "member"),
         "mspx_globex": TokenEntry("t1", "k2", "customer", customer_id="c-g")},
        rules={"t1": [ItemRuleRecord("tool", f"{kind}__*", True, ("customer", "member"), 1)]},
        customers=[globex],
        connectors={"t1": [ConnectorEntry(record, case.secrets)]},
    )  # fmt: skip
    gw = await start(snap)
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    name = f"{kind}__{case.tool}"

    def through_gateway(http: httpx.AsyncClient, token: str) -> Callable[[], Awaitable[Any]]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": name, "arguments": case.args, "_meta": meta}}  # fmt: skip
        headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": name,
                   "Accept": "application/json", "Authorization": f"Bearer {token}"}  # fmt: skip

        async def step() -> None:
            response = await http.post("/mcp/v1/north", json=body, headers=headers)
            assert response.json()["result"]["isError"] is False, response.text

        return step

    try:
        async with (
            httpx.AsyncClient() as client,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.edge), base_url="http://127.0.0.1") as edge,
        ):
            config = InstanceConfig(case.base, None, case.settings)
            auth = build_auth(vendor, config, case.secrets, client)
            instance = VendorInstance(vendor, config, auth, client, tenant="north")
            bearer = dict(await auth.headers())
            url = f"{case.base}/{case.record_path}"

            async def direct() -> None:
                (await client.get(url, headers=bearer)).json()

            async def framework() -> None:
                assert (await instance.call(case.tool, case.args))["isError"] is False

            return {
                "httpx GET of the record (baseline)": await _per_call(calls, direct),
                "VendorInstance.call (connector)": await _per_call(calls, framework),
                "tools/call through edge + chain (member)": await _per_call(
                    calls, through_gateway(edge, "mspx_member")
                ),
                "tools/call through edge + chain (customer-bound)": await _per_call(
                    calls, through_gateway(edge, "mspx_globex")
                ),
            }
    finally:
        registry.unregister(kind)
        await gw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    ports = _port(), _port()
    paths = ", ".join(repr(str(p)) for p in (ROOT / "src",))
    fakes = subprocess.Popen(
        [sys.executable, "-c", FAKES.format(paths=paths, pax8=ports[0], ninja=ports[1])], stdout=subprocess.PIPE
    )
    try:
        assert fakes.stdout is not None and fakes.stdout.readline().startswith(b"READY")
        sub = pid("subscription:9")
        cases = {
            "Pax8 get_subscription": Case(
                pax8.VENDOR, f"http://127.0.0.1:{ports[0]}/v1", {"client_id": "pax8-client"},
                {"client_secret": "pax8-secret"}, {"globex": GLOBEX}, "get_subscription", {"subscription_id": sub},
                f"subscriptions/{sub}",
            ),
            "NinjaOne get_device": Case(
                ninjaone.VENDOR, f"http://127.0.0.1:{ports[1]}", {"client_id": "ninja-client"},
                {"client_secret": "ninja-secret"}, {"globex": "2"}, "get_device", {"device_id": 53}, "v2/device/53",
            ),
        }  # fmt: skip
        for title, case in cases.items():
            rows = asyncio.run(_measure(case, args.calls))
            width = max(map(len, rows))
            base = rows["httpx GET of the record (baseline)"]
            print(title)
            for name, micros in rows.items():
                print(f"  {name:<{width}}  {micros:8.1f} µs CPU/call  (+{micros - base:7.1f} over the baseline)")
    finally:
        fakes.terminate()
        fakes.wait()


if __name__ == "__main__":
    main()
