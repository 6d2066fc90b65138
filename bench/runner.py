"""Drive one load against one endpoint and turn the raw counts into a `Measurement`.

The load runs in separate worker processes (`bench.loadgen`); between their "ready" and "go" the
target's process tree is sampled, and again when they report, so set-up (handshakes) and
tear-down are outside the CPU window.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.loadgen import Job, WorkerResult
from bench.procstat import TreeSample, cmdline, sample_tree, system_busy_seconds

__all__ = ["Endpoint", "LoadError", "Measurement", "percentile", "run_load"]

_ROOT = Path(__file__).resolve().parent.parent


class LoadError(RuntimeError):
    """The load generator itself failed (not the target): no figures can be trusted."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call a target, and which processes are its cost.

    `roots` are the target's processes (descendants included); `exclude` prunes subtrees that are
    not the target (the stdio echo upstream a proxy spawns). `upstream_roots` is the echo upstream,
    measured separately so that a gateway's cost never includes it.
    """

    url: str
    tool: str
    roots: tuple[int, ...]
    headers: dict[str, str] = field(default_factory=dict)
    exclude: Callable[[str], bool] | None = None
    upstream_roots: tuple[int, ...] = ()
    upstream_is_child: bool = False  # a stdio child: found under `roots` by `upstream_match`
    upstream_match: Callable[[str], bool] | None = None


@dataclass
class Measurement:
    clients: int
    seconds: float
    era: str
    calls: int
    errors: int
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    target_cpu_s: float
    target_cpu_ms_per_call: float
    upstream_cpu_ms_per_call: float
    loadgen_cpu_ms_per_call: float
    other_cpu_s: float  # machine CPU outside target, upstream and load generator: noise
    target_pids: list[int]
    target_cpus_seen: list[int]
    error_samples: list[str]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts) if base + (1 if i < extra else 0) > 0]


async def _spawn_worker(job: Job) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(_ROOT),
        limit=256 * 1024 * 1024,  # the result line carries every latency sample
    )
    assert proc.stdin is not None
    proc.stdin.write(orjson.dumps(asdict(job)) + b"\n")
    await proc.stdin.drain()
    return proc


async def _readline(proc: asyncio.subprocess.Process, limit_s: float) -> dict[str, object]:
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), limit_s)
    except (TimeoutError, ValueError) as exc:
        raise LoadError(f"load generator did not report: {type(exc).__name__}: {exc}") from None
    if not line:
        raise LoadError(f"load generator exited early (rc={await proc.wait()})")
    return orjson.loads(line)


def _sample_target(ep: Endpoint) -> tuple[TreeSample, TreeSample | None]:
    target = sample_tree(ep.roots, ep.exclude)
    if ep.upstream_is_child and ep.upstream_match is not None:
        match = ep.upstream_match
        up_roots = [p for p in sample_tree(ep.roots).pids if match(cmdline(p))]
        return target, sample_tree(up_roots)
    if ep.upstream_roots:
        return target, sample_tree(ep.upstream_roots)
    return target, None


async def run_load(
    ep: Endpoint,
    *,
    clients: int,
    seconds: float,
    era: str,
    workers: int = 1,
    max_calls: int = 0,
    arguments: dict[str, Any] | None = None,
) -> Measurement:
    """Run `clients` concurrent clients for `seconds` against `ep`, spread over `workers` processes."""
    jobs = [
        Job(
            url=ep.url,
            tool=ep.tool,
            clients=n,
            seconds=seconds,
            era=era,
            headers=ep.headers,
            max_calls=max_calls,
            arguments=arguments,
        )
        for n in _split(clients, max(1, min(workers, clients)))
    ]
    procs = [await _spawn_worker(j) for j in jobs]
    try:
        for p in procs:
            await _readline(p, 60)
        before, up_before = _sample_target(ep)
        busy_before = system_busy_seconds()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            await p.stdin.drain()
        results = [WorkerResult(**await _readline(p, seconds + 90)) for p in procs]  # type: ignore[arg-type]
        busy_after = system_busy_seconds()
        after, up_after = _sample_target(ep)
        for p in procs:
            await asyncio.wait_for(p.wait(), 30)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    calls = sum(r.calls for r in results)
    lat = sorted(x for r in results for x in r.latencies_ms)
    elapsed = max((r.elapsed_s for r in results), default=0.0) or float("nan")
    target_cpu = max(0.0, after.cpu_s - before.cpu_s)
    up_cpu = max(0.0, up_after.cpu_s - up_before.cpu_s) if up_before and up_after else float("nan")
    per_call = 1000.0 / calls if calls else float("nan")
    loadgen_cpu = sum(r.cpu_s for r in results)
    known = target_cpu + loadgen_cpu + (0.0 if math.isnan(up_cpu) or ep.upstream_roots == ep.roots else up_cpu)
    return Measurement(
        clients=clients,
        seconds=seconds,
        era=era,
        calls=calls,
        errors=sum(r.errors for r in results),
        calls_per_s=len(lat) / elapsed,
        p50_ms=percentile(lat, 50),
        p99_ms=percentile(lat, 99),
        target_cpu_s=target_cpu,
        target_cpu_ms_per_call=target_cpu * per_call,
        upstream_cpu_ms_per_call=up_cpu * per_call,
        loadgen_cpu_ms_per_call=loadgen_cpu * per_call,
        other_cpu_s=max(0.0, busy_after - busy_before - known),
        target_pids=list(after.pids),
        target_cpus_seen=sorted(set(after.cpus)),
        error_samples=[s for r in results for s in r.error_samples][:5],
    )
