"""`python -m bench` (= `make bench`): the same load, direct and through each gateway.

Order of a run: start the echo upstream (HTTP); then for each target in turn — start it, warm it
up, read its idle RSS, measure unloaded latency (1 client, sequential), run the load (N clients ×
T seconds), stop it. Targets never overlap, so each has the machine to itself (with the load
generator and the upstream). A target that cannot start is reported and skipped; the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.contextforge import contextforge
from bench.procs import StartError, spawn, wait_line
from bench.procstat import sample_tree
from bench.report import RowResult, render_table, write_json
from bench.runner import Endpoint, LoadError, run_load
from bench.targets import Context, TargetFactory, direct, mcp_proxy, msplex

__all__ = ["main"]

_BENCH = Path(__file__).resolve().parent
_ROOT = _BENCH.parent
_MB = 1024 * 1024


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip().isdigit() else default


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--clients", type=int, default=_env_int("BENCH_CLIENTS", 8), help="concurrent clients (8)")
    p.add_argument("--seconds", type=float, default=float(_env_int("BENCH_SECONDS", 10)), help="load duration (10)")
    p.add_argument("--unloaded-seconds", type=float, default=3.0, help="sequential single-client phase (3)")
    p.add_argument("--era", choices=("legacy", "modern"), default=os.environ.get("BENCH_ERA", "legacy"))
    p.add_argument("--workers", type=int, default=_env_int("BENCH_WORKERS", 1), help="load-generator processes (1)")
    p.add_argument(
        "--peers",
        action="store_true",
        default=os.environ.get("PEERS", "") == "1",
        help="also ContextForge and mcp-proxy (or PEERS=1)",
    )
    p.add_argument("--only", default="", help="comma-separated row names to run (e.g. direct,contextforge)")
    p.add_argument("--no-json", action="store_true", help="do not write bench/results/<timestamp>.json")
    args = p.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.workers < 1:
        p.error("--clients and --workers must be ≥ 1, --seconds > 0")
    return args


def _rows(peers: bool) -> list[tuple[str, str, TargetFactory]]:
    rows: list[tuple[str, str, TargetFactory]] = [
        ("direct", "direct", direct),
        ("msplex (http upstream)", "gateway", msplex(stdio=False)),
        ("msplex (http upstream; every stage on)", "gateway", msplex(stdio=False, enforced=True)),
        ("msplex (http upstream; scoped PAT)", "gateway", msplex(stdio=False, identity="scoped-pat")),
        ("msplex (http upstream; OIDC token)", "gateway", msplex(stdio=False, identity="oidc")),
        ("msplex (stdio upstream)", "gateway", msplex(stdio=True)),
    ]
    if peers:
        rows += [("contextforge", "peer", contextforge), ("mcp-proxy (stdio upstream)", "peer", mcp_proxy)]
    return rows


async def _warm_up(ep: Endpoint, era: str, row: RowResult, budget_s: float = 20.0) -> None:
    """Call until a short burst succeeds: catalogues and upstream connections may load lazily."""
    deadline = time.monotonic() + budget_s
    while True:
        m = await run_load(ep, clients=1, seconds=1.0, era=era, max_calls=20)
        if m.calls and not m.errors:
            return
        if time.monotonic() > deadline:
            raise StartError(f"warm-up calls keep failing: {m.errors}/{m.calls} errors, e.g. {m.error_samples[:1]}")
        await asyncio.sleep(0.5)


async def _measure(name: str, kind: str, factory: TargetFactory, ctx: Context, args: argparse.Namespace) -> RowResult:
    row = RowResult(name=name, kind=kind)
    print(f"[bench] {name}: starting", flush=True)
    try:
        async with factory(ctx) as ep:
            await _warm_up(ep, args.era, row)
            await asyncio.sleep(1.0)
            row.idle_rss_mb = sample_tree(ep.roots, ep.exclude).rss_bytes / _MB
            print(f"[bench] {name}: unloaded latency ({args.unloaded_seconds:g} s)", flush=True)
            row.unloaded = await run_load(ep, clients=1, seconds=args.unloaded_seconds, era=args.era)
            print(f"[bench] {name}: load ({args.clients} clients × {args.seconds:g} s)", flush=True)
            row.loaded = await run_load(
                ep, clients=args.clients, seconds=args.seconds, era=args.era, workers=args.workers
            )
            row.rss_after_load_mb = sample_tree(ep.roots, ep.exclude).rss_bytes / _MB
            busy = row.loaded.other_cpu_s / args.seconds
            if busy > 0.25:
                row.notes.append(f"other processes kept {busy:.2f} of the cores busy during the load: noisy")
            if row.loaded.errors:
                row.notes.append(f"{row.loaded.errors} errors, e.g. {row.loaded.error_samples[:1]}")
    except (StartError, LoadError, OSError) as exc:
        row.status = f"skipped: {exc}"
        print(f"[bench] {name}: {row.status}", flush=True)
    return row


def _meta(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "clients": args.clients,
        "seconds": args.seconds,
        "unloaded_seconds": args.unloaded_seconds,
        "era": args.era,
        "loadgen_workers": args.workers,
        "pinning": "none (OS scheduler): load generator, target and upstream are separate processes",
        "upstream": f"{ctx.upstream_url} (pid {ctx.upstream_pid}, mcp SDK low-level Server, json_response, stateless)",
    }


async def _run(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    cache = _ROOT / ".cache" / "bench"
    run_dir = cache / "runs" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)
    for old in sorted((cache / "runs").iterdir())[:-10]:  # keep the logs of the last ten runs
        shutil.rmtree(old, ignore_errors=True)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    script = _BENCH / "upstream.py"
    log = run_dir / "upstream-http.log"
    async with spawn([sys.executable, str(script), "--port", "0"], log=log) as up:
        port = int((await wait_line(log, "READY ", proc=up)).split()[1])
        ctx = Context(
            run_dir=run_dir,
            cache_dir=cache,
            python=sys.executable,
            upstream_script=script,
            upstream_url=f"http://127.0.0.1:{port}/mcp",
            upstream_pid=up.pid,
        )
        print(f"[bench] {os.cpu_count()} CPUs, no pinning; logs in {run_dir}", flush=True)
        rows = [
            await _measure(name, kind, factory, ctx, args)
            for name, kind, factory in _rows(args.peers or bool(only))
            if not only or name in only or name.split(" ")[0] in only
        ]
    print()
    where = (
        f"ran where: {os.cpu_count()} CPUs, no pinning; load generator in {args.workers} process(es), "
        "each target and the echo upstream in their own processes, one target at a time"
    )
    print(render_table(rows, clients=args.clients, seconds=args.seconds, era=args.era, where=where))
    if any("noisy" in note for r in rows for note in r.notes):
        print("the machine was busy: rerun on a quiet machine before trusting the ratios")
    if not args.no_json:
        out = _BENCH / "results" / f"{stamp}.json"
        write_json(out, _meta(args, ctx), rows)
        print(f"\nresults: {out.relative_to(_ROOT)}")
    return 0 if any(r.loaded for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        import uvloop

        return uvloop.run(_run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
