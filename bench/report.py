"""The results table (stdout) and the JSON record (bench/results/<timestamp>.json).

Ratios and "added latency" are relative to the `direct` row of the same run; a gateway row is
checked against the issue's targets, peers are shown against the same targets for comparison.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.runner import Measurement

__all__ = ["TARGETS", "RowResult", "render_table", "write_json"]

# Issue #2, "A first benchmark": the gateway's budget on a 2-core machine.
TARGETS = {
    "cpu_ms_per_call": 0.4,  # at most, per proxied tools/call (= CPU s per 1,000 calls)
    "throughput_ratio": 0.7,  # at least, gateway calls/s ÷ direct calls/s
    "added_p50_ms": 0.5,  # at most, unloaded (1 client, sequential)
    "idle_rss_mb": 120.0,  # below
}


@dataclass
class RowResult:
    name: str
    kind: str  # "direct" | "gateway" | "peer"
    status: str = "ok"  # "ok", or why the row has no figures
    idle_rss_mb: float = math.nan
    rss_after_load_mb: float = math.nan
    unloaded: Measurement | None = None
    loaded: Measurement | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["unloaded"] = self.unloaded.to_json() if self.unloaded else None
        out["loaded"] = self.loaded.to_json() if self.loaded else None
        return out


def _fmt(value: float, spec: str = ".2f") -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _direct(rows: list[RowResult]) -> RowResult | None:
    return next((r for r in rows if r.kind == "direct" and r.loaded is not None), None)


def derived(row: RowResult, rows: list[RowResult]) -> dict[str, float]:
    """Figures relative to the direct row: throughput ratio and added unloaded p50."""
    base = _direct(rows)
    out = {"throughput_ratio": math.nan, "added_p50_ms": math.nan}
    if base is None or row.kind == "direct":
        return out
    if row.loaded and base.loaded and base.loaded.calls_per_s:
        out["throughput_ratio"] = row.loaded.calls_per_s / base.loaded.calls_per_s
    if row.unloaded and base.unloaded:
        out["added_p50_ms"] = row.unloaded.p50_ms - base.unloaded.p50_ms
    return out


def _verdicts(row: RowResult, d: dict[str, float]) -> str:
    if row.kind == "direct" or row.loaded is None:
        return ""
    checks = [
        ("cpu", row.loaded.target_cpu_ms_per_call <= TARGETS["cpu_ms_per_call"]),
        ("thr", d["throughput_ratio"] >= TARGETS["throughput_ratio"]),
        ("lat", d["added_p50_ms"] <= TARGETS["added_p50_ms"]),
        ("rss", row.idle_rss_mb < TARGETS["idle_rss_mb"]),
    ]
    return " ".join(f"{name}:{'ok' if good else 'MISS'}" for name, good in checks)


_HEADER = (
    "target",
    "calls/s",
    "×direct",
    "p50 ms",
    "p99 ms",
    "errors",
    "CPU s/1k",
    "upstr s/1k",
    "+p50 idle ms",
    "idle RSS MB",
    "vs targets",
)


def render_table(rows: list[RowResult], *, clients: int, seconds: float, era: str, where: str = "") -> str:
    """A fixed-width table, one line per target, then the targets line and any skipped rows."""
    lines: list[list[str]] = [list(_HEADER)]
    for row in rows:
        if row.loaded is None:
            continue
        d = derived(row, rows)
        m = row.loaded
        lines.append(
            [
                row.name,
                _fmt(m.calls_per_s, ".0f"),
                _fmt(d["throughput_ratio"]),
                _fmt(m.p50_ms),
                _fmt(m.p99_ms),
                str(m.errors),
                "—" if row.kind == "direct" else _fmt(m.target_cpu_ms_per_call, ".3f"),
                _fmt(m.upstream_cpu_ms_per_call, ".3f"),
                _fmt(d["added_p50_ms"], ".3f"),
                "—" if row.kind == "direct" else _fmt(row.idle_rss_mb, ".1f"),
                _verdicts(row, d),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER))]
    out = [f"load: {clients} clients × {seconds:g} s, era={era}; unloaded: 1 client, sequential"]
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[j]) if j == 0 else cell.rjust(widths[j]) for j, cell in enumerate(line)))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append(
        f"targets (issue #2, per gateway): CPU ≤ {TARGETS['cpu_ms_per_call']} s/1k calls (ms/call), "
        f"throughput ≥ {TARGETS['throughput_ratio']}× direct, added unloaded p50 ≤ {TARGETS['added_p50_ms']} ms, "
        f"idle RSS < {TARGETS['idle_rss_mb']:.0f} MB"
    )
    out.append("CPU s/1k = the target's process tree (stdio upstream excluded); upstr s/1k = the echo upstream's.")
    if where:
        out.append(where)
    for row in rows:
        if row.loaded is None:
            out.append(f"{row.name}: {row.status}")
        for note in row.notes:
            out.append(f"{row.name}: {note}")
    return "\n".join(out)


def write_json(path: Path, meta: dict[str, Any], rows: list[RowResult]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "meta": meta,
        "targets": TARGETS,
        "rows": [{**r.to_json(), **derived(r, rows)} for r in rows],
    }
    path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
