"""Gateway CPU per vendor connector call: Hudu's ``company_get`` through ``msplex serve`` against the Hudu fake.

``python -m bench.connector_call [--calls N] [--clients C]`` starts the Hudu fake
(``python -m msplex.sandbox.hudu``) and ``msplex serve`` in a fresh ``MSPLEX_HOME`` set up with the
CLI as a user would (``tenant create``, ``connect hudu --enable read-only``, ``token create``), then
makes N ``tools/call`` requests of ``hudu__company_get`` (2026-07-28 era: one stateless POST each)
from C concurrent clients. It prints the gateway's CPU per call (utime+stime of its process tree,
from ``/proc``; the fake is never charged), the fake's CPU per call, and latency through the
gateway against the same Hudu request made directly. The fake's rate limit is lifted for the run,
but the gateway paces itself under Hudu's published 300 requests a minute (90 %: 270), so a run
stays under 270 calls (20 warm-up + ``--calls``, default 240) or measures the pacer's waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import free_port, run_cmd, spawn, wait_http
from bench.procstat import sample_tree

__all__ = ["main"]

KEY = "bench-hudu-key-0123456789"
META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}


async def _calls(url: str, headers: dict[str, str], body: dict[str, object], n: int, clients: int) -> list[float]:
    latencies: list[float] = []
    queue = iter(range(n))

    async def client() -> None:
        async with httpx.AsyncClient(headers=headers, timeout=30) as http:
            for _ in queue:
                started = time.perf_counter()
                response = await http.post(url, json=body)
                response.raise_for_status()
                if b'"isError":true' in response.content or b'"error"' in response.content[:40]:
                    raise RuntimeError(f"the call failed: {response.text[:300]}")
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def _run(calls: int, clients: int) -> None:
    python = sys.executable
    exe = str(Path(python).parent / "msplex")
    work = Path(tempfile.mkdtemp(prefix="bench-connector-"))
    fake_port, port = free_port(), free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    env = {**os.environ, "MSPLEX_HOME": str(work / "home"), "MSPLEX_HOST": "127.0.0.1", "MSPLEX_PORT": str(port)}
    env.pop("MSPLEX_DATABASE_URL", None)
    fake_argv = [python, "-m", "msplex.sandbox.hudu", "--port", str(fake_port), "--key", KEY, "--limit", "1000000"]
    async with spawn(fake_argv, log=work / "fake.log") as fake:
        await wait_http(f"{fake_url}/api/v1/api_info", proc=fake, log=work / "fake.log", ok=None)
        await run_cmd([exe, "tenant", "create", "bench"], env=env)
        await run_cmd(
            [
                exe,
                "connect",
                "hudu",
                "--tenant",
                "bench",
                "--base-url",
                fake_url,
                "--api-key",
                KEY,
                "--enable",
                "read-only",
            ],
            env=env,
        )
        token = (await run_cmd([exe, "token", "create", "--tenant", "bench"], env=env)).strip().splitlines()[-1]
        async with spawn([exe, "serve"], log=work / "gateway.log", env=env) as gateway:
            await wait_http(f"http://127.0.0.1:{port}/healthz", proc=gateway, log=work / "gateway.log", ok=None)
            name = "hudu__company_get"
            body = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": name, "arguments": {"company_id": 1}, "_meta": META},
            }
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2026-07-28",
                "Mcp-Method": "tools/call",
                "Mcp-Name": name,
            }
            url = f"http://127.0.0.1:{port}/mcp/v1/bench"
            await _calls(url, headers, body, 20, 1)  # warm-up
            direct = await _direct(fake_url, calls, clients)
            g0, f0 = sample_tree([gateway.pid]).cpu_s, sample_tree([fake.pid]).cpu_s
            started = time.perf_counter()
            through = await _calls(url, headers, body, calls, clients)
            wall = time.perf_counter() - started
            g1, f1 = sample_tree([gateway.pid]).cpu_s, sample_tree([fake.pid]).cpu_s
    print(f"hudu__company_get through msplex: {calls} calls, {clients} clients, {calls / wall:.0f} calls/s")
    print(f"  gateway CPU per call: {(g1 - g0) / calls * 1000:.2f} ms   (Hudu fake: {(f1 - f0) / calls * 1000:.2f} ms)")
    print(f"  p50 latency: {_ms(through)} through the gateway, {_ms(direct)} direct to the fake")


async def _direct(fake_url: str, calls: int, clients: int) -> list[float]:
    latencies: list[float] = []
    queue = iter(range(calls))

    async def client() -> None:
        async with httpx.AsyncClient(headers={"x-api-key": KEY}, timeout=30) as http:
            for _ in queue:
                started = time.perf_counter()
                (await http.get(f"{fake_url}/api/v1/companies/1")).raise_for_status()
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def _ms(latencies: list[float]) -> str:
    return f"{statistics.median(latencies) * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.connector_call", description=__doc__)
    parser.add_argument("--calls", type=int, default=240)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    asyncio.run(_run(args.calls, args.clients))


if __name__ == "__main__":
    main()
