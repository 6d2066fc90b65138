"""CPU spent by the upstream client per request (this process only; the upstream runs apart).

    .venv/bin/python tests/upstream/bench_client_cpu.py [N]

Starts the fixture upstream twice (SSE-mode and JSON-mode), then for each
(era, response kind) issues N sequential ``tools/call echo`` requests over one
pooled session and prints this process's CPU microseconds per request.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from upstream_servers import FixtureServer

from msplex.upstream import HttpSession, UpstreamSpec
from msplex.upstream.base import Era


async def measure(url: str, era: Era, n: int) -> tuple[float, float, str]:
    async def credentials() -> dict[str, str]:
        return {"Authorization": "Bearer x"}

    s = HttpSession(UpstreamSpec("bench", "echo", "http", url=url), era=era, headers=credentials)
    params = {"name": "echo", "arguments": {"text": "hello"}}
    kinds: list[str] = []
    try:
        await s.start()
        for _ in range(200):  # warm-up: connections pooled, code paths hot
            await s.request("tools/call", params)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            await s.request("tools/call", params)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        async with s.http.post(s.url, data=b"{}", headers=s.headers) as resp:  # probe the reply kind
            kinds.append(resp.headers.get("Content-Type", "?"))
    finally:
        await s.close()
    return cpu / n * 1e6, wall / n * 1e6, kinds[0]


async def main(n: int) -> None:
    sse, js = FixtureServer().start(), FixtureServer("--json").start()
    try:
        print(f"{'era':8} {'upstream reply':14} {'CPU µs/req':>10} {'wall µs/req':>11}")
        for era, server, kind in (
            ("legacy", sse, "SSE"),
            ("legacy", js, "JSON"),
            ("modern", sse, "JSON*"),
            ("modern", js, "JSON"),
        ):
            cpu, wall, _ = await measure(server.url, era, n)  # type: ignore[arg-type]
            print(f"{era:8} {kind:14} {cpu:10.0f} {wall:11.0f}")
        print("* a 2026-07-28 SDK server answers JSON unless the handler emits notifications")
    finally:
        sse.stop()
        js.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
