"""CPU per vendor connector tool call: the framework and the gateway around it, against a fake on 127.0.0.1.

``python -m bench.vendor_call [--calls N]`` starts the framework's example vendor fake (``widgets``, from
the tests) in its own process and measures this process's CPU per call of: a plain ``httpx`` GET of the
same record (what any client pays), ``VendorInstance.call`` (argument validation, customer scope,
pacing, auth headers, error translation, structural redaction, the JSON text), and the same tool called
through the gateway's edge and chain in process (``tools/call`` over ASGI, no socket; the rows include
the test client's own request building), unbound and bound to a customer. The fake's own CPU is in the
other process and is not counted; each row is the best of three rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "connectors" / "framework")]

from widgets_vendor import KEY, VENDOR  # noqa: E402

from msplex.connectors.framework import InstanceConfig, VendorInstance, registry  # noqa: E402
from msplex.store.models import utcnow  # noqa: E402
from msplex.store.records import (  # noqa: E402
    ConnectorEntry,
    ConnectorRecord,
    CustomerRecord,
    ItemRuleRecord,
    TokenEntry,
)
from msplex.vault import StaticAuth  # noqa: E402

MODERN = "2026-07-28"
FAKE = """
import sys; sys.path[:0] = [{paths}]
from aiohttp import web
from widgets_vendor import Fake
web.run_app(Fake().app(), host="127.0.0.1", port={port}, print=None, access_log=None)
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ROUNDS = 3


async def _per_call(calls: int, step: Callable[[], Awaitable[Any]]) -> float:
    """The best of ``ROUNDS`` rounds (a shared machine only ever adds time)."""
    for _ in range(min(200, calls)):
        await step()
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(calls):
            await step()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


async def _measure(url: str, calls: int) -> dict[str, float]:
    from support.inproc import snapshot, start

    registry.register(VENDOR)
    customer = CustomerRecord("c-b", "t1", "bravo", "Fabrikam", utcnow())
    now = utcnow()
    record = ConnectorRecord("c1", "t1", "widgets", "widgets", url, None, {}, ("api_key",), {"bravo": "2"}, now, now,
                             {"c-b": "bravo"})  # fmt: skip
    snap = snapshot(
        [("t1", "acme", False)],
        {
            "mspx_admin": TokenEntry("t1", "k1", "admin"),
            "mspx_bravo": TokenEntry("t1", "k2", "customer", customer_id="c-b"),
        },
        rules={"t1": [ItemRuleRecord("tool", "widgets__*", True, ("customer", "admin"), 1)]},
        customers=[customer],
        connectors={"t1": [ConnectorEntry(record, {"api_key": KEY})]},
    )
    gw = await start(snap)
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}

    def through_gateway(http: httpx.AsyncClient, token: str, widget: int) -> Callable[[], Awaitable[Any]]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "widgets__get_widget", "arguments": {"id": widget}, "_meta": meta}}  # fmt: skip
        headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "widgets__get_widget",
                   "Accept": "application/json", "Authorization": f"Bearer {token}"}  # fmt: skip

        async def step() -> None:
            response = await http.post("/mcp/v1/acme", json=body, headers=headers)
            assert response.json()["result"]["isError"] is False, response.text

        return step

    try:
        async with (
            httpx.AsyncClient() as client,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.edge), base_url="http://127.0.0.1") as edge,
        ):
            instance = VendorInstance(VENDOR, InstanceConfig(url), StaticAuth({"x-api-key": KEY}, [KEY]), client,
                                      tenant="acme")  # fmt: skip

            async def direct() -> None:
                (await client.get(f"{url}/api/widgets/35", headers={"x-api-key": KEY})).json()

            async def framework() -> None:
                assert (await instance.call("get_widget", {"id": 35}))["isError"] is False

            return {
                "httpx GET of the record (baseline)": await _per_call(calls, direct),
                "VendorInstance.call (framework)": await _per_call(calls, framework),
                "tools/call through edge + chain (admin)": await _per_call(
                    calls, through_gateway(edge, "mspx_admin", 35)
                ),
                "tools/call through edge + chain (customer-bound)": await _per_call(
                    calls, through_gateway(edge, "mspx_bravo", 35)
                ),
            }
    finally:
        await gw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    port = _port()
    paths = ", ".join(repr(str(p)) for p in (ROOT / "tests" / "connectors" / "framework", ROOT / "tests", ROOT / "src"))
    fake = subprocess.Popen([sys.executable, "-c", FAKE.format(paths=paths, port=port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the fake did not start") from None
                time.sleep(0.05)
        rows = asyncio.run(_measure(f"http://127.0.0.1:{port}", args.calls))
    finally:
        fake.terminate()
        fake.wait()
    width = max(map(len, rows))
    base = rows["httpx GET of the record (baseline)"]
    for name, micros in rows.items():
        print(f"{name:<{width}}  {micros:8.1f} µs CPU/call  (+{micros - base:7.1f} over the baseline)")


if __name__ == "__main__":
    main()
