"""Smoke test of `python -m bench.vendor_call`: every vendor's tool called directly, through the framework
and through a real `msplex serve`, against the fakes (no timing asserts)."""

from __future__ import annotations

import re
import subprocess
import sys

KINDS = {"halopsa", "hudu", "connectwise", "pax8", "ninjaone"}


def test_vendor_bench_calls_every_vendor_through_the_gateway_and_prints_its_cost() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.vendor_call", "--calls", "20", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"^(\w+)__\w+\s+(\d+)((?:\s+\d+){6})\s+[+-]\d+\s+[+-]\d+$", out.stdout, re.M)
    assert {kind for kind, _, _ in rows} == KINDS, out.stdout
    for _, requests, cells in rows:
        assert int(requests) >= 1
        assert all(int(us) >= 0 for us in cells.split()), out.stdout
    assert "raised to" in out.stdout  # the pacing the bench configured is stated
