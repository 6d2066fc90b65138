"""Smoke test of `python -m bench.connector_cost` (a HaloPSA tool call's gateway CPU against its fake)."""

from __future__ import annotations


def test_connector_bench_calls_halo_through_the_gateway_and_prints_its_cost() -> None:
    import re
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "bench.connector_cost", "--calls", "20", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"^(direct httpx GET \S+|msplex halopsa__get_ticket, [^\d]+?)\s+(\d+)", out.stdout, re.M)
    assert len(rows) == 3 and all(int(us) > 0 for _, us in rows), out.stdout
