"""Smoke tests of the benchmark's pieces against a real echo upstream process (no timing asserts)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench.loadgen import Job, run_job
from bench.procs import spawn, wait_line
from bench.procstat import sample_tree
from bench.runner import Endpoint, percentile, run_load
from bench.targets import is_stdio_upstream
from mcp import Client, StdioServerParameters

UPSTREAM = Path(__file__).resolve().parents[2] / "bench" / "upstream.py"


@pytest.fixture(scope="module")
async def upstream(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, int]]:
    log = tmp_path_factory.mktemp("bench") / "upstream.log"
    async with spawn([sys.executable, str(UPSTREAM), "--port", "0"], log=log) as proc:
        port = int((await wait_line(log, "READY ", proc=proc)).split()[1])
        yield f"http://127.0.0.1:{port}/mcp", proc.pid


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_load_generator_counts_successful_calls(upstream: tuple[str, int], era: str) -> None:
    url, _ = upstream
    result = await run_job(Job(url=url, tool="echo", clients=2, seconds=1.0, era=era))
    assert result.calls > 0
    assert result.errors == 0, result.error_samples
    assert len(result.latencies_ms) == result.calls


async def test_load_generator_counts_tool_errors_as_errors(upstream: tuple[str, int]) -> None:
    url, _ = upstream
    result = await run_job(Job(url=url, tool="no-such-tool", clients=2, seconds=0.5))
    assert result.calls > 0
    assert result.errors == result.calls
    assert result.latencies_ms == []
    assert "tool error" in result.error_samples[0]


async def test_load_generator_counts_refused_connections_as_setup_errors() -> None:
    result = await run_job(Job(url="http://127.0.0.1:9/mcp", tool="echo", clients=3, seconds=0.2))
    assert result.setup_errors == 3
    assert result.errors == 3
    assert result.calls == 0


async def test_run_load_charges_cpu_to_the_target_process(upstream: tuple[str, int]) -> None:
    url, pid = upstream
    ep = Endpoint(url=url, tool="echo", roots=(pid,), upstream_roots=(pid,))
    m = await run_load(ep, clients=2, seconds=1.0, era="legacy", workers=2, max_calls=200)
    assert m.errors == 0, m.error_samples
    assert 0 < m.calls <= 400  # two workers × one client × at most 200 calls
    assert m.target_cpu_s > 0
    assert m.target_pids == [pid]
    assert m.p50_ms <= m.p99_ms


async def test_stdio_upstream_answers_the_sdk_client() -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(UPSTREAM), "--stdio"])
    async with Client(params) as client:
        tools = await client.list_tools()
        result = await client.call_tool("echo", {"text": "hello"})
    assert [t.name for t in tools.tools] == ["echo"]
    assert result.content[0].text == "hello"  # type: ignore[union-attr]


def test_tree_sample_sees_this_process() -> None:
    sample = sample_tree([os.getpid()])
    assert sample.rss_bytes > 0
    assert sample.cpu_s > 0


def test_stdio_upstream_predicate_spares_the_proxy_that_launches_it() -> None:
    assert is_stdio_upstream("/venv/bin/python /repo/bench/upstream.py --stdio")
    assert is_stdio_upstream("/bin/sh -c /venv/bin/python /repo/bench/upstream.py --stdio")
    assert not is_stdio_upstream("/cache/bin/python /cache/bin/mcp-proxy --port 1 -- python upstream.py --stdio")
    assert not is_stdio_upstream("/venv/bin/python /repo/bench/upstream.py --port 0")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) != percentile([], 50)  # NaN


def test_chain_bench_clears_a_call_for_every_identity_and_prints_its_cost() -> None:
    import re
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "bench.chain", "--calls", "200", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    costs = dict(
        re.findall(r"^(member PAT|scoped PAT|customer PAT|OIDC token \(cached verdict\))\s+([\d.]+)", out.stdout, re.M)
    )
    assert sorted(costs) == ["OIDC token (cached verdict)", "customer PAT", "member PAT", "scoped PAT"], out.stdout
    assert all(float(us) > 0 for us in costs.values())
