"""Run `@modelcontextprotocol/conformance` (installed by scripts/node-tools.sh) against a URL.

Two installs exist because both versions are the same npm package: 0.1.16 (npm
`latest`, 2025-era scenarios) and the newest 0.2.0 alpha (adds 2026-07-28). Both
need Node >= 22, so they run on the Node 22 from .cache/node-tools, never the
system Node. The suite's verdict is its `Total: N passed, N failed` line plus
its exit code (non-zero on an unexpected failure, or on a stale expected-failures
entry that now passes).

The CLI cannot send extra HTTP headers; `headers=` works around that with a
Node preload (inject_headers.mjs) that adds them to requests for the target origin.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "ALPHA",
    "EXPECTED_FAILURES_2026",
    "LEGACY",
    "NODE_TOOLS",
    "ConformanceError",
    "SuiteResult",
    "list_extension_scenarios",
    "missing_node_tools",
    "parse_failed_scenarios",
    "parse_totals",
    "read_expected_failures",
    "run_suite",
]

REPO = Path(__file__).resolve().parents[2]
NODE_TOOLS = REPO / ".cache" / "node-tools"
NODE = NODE_TOOLS / "node22" / "node_modules" / ".bin" / "node"
HERE = Path(__file__).resolve().parent
EXPECTED_FAILURES_2026 = HERE / "expected-failures-2026-07-28.yml"
_PRELOAD = HERE / "inject_headers.mjs"

LEGACY = "0.1.16"
ALPHA = "0.2"  # whichever 0.2.0-alpha.N scripts/node/conformance-0.2 pins (the newest)
_INSTALLS = {LEGACY: "conformance-0.1", ALPHA: "conformance-0.2"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TOTAL = re.compile(r"^Total: (\d+) passed, (\d+) failed\s*$", re.MULTILINE)
_FAILED_SCENARIO = re.compile(r"^✗ ([\w.-]+): \d+ passed, \d+ failed", re.MULTILINE)
_EXPECTED_ENTRY = re.compile(r"^\s*-\s*([\w.-]+)\s*(?:#\s*(.*?))?\s*$")


class ConformanceError(RuntimeError):
    """The suite could not be run, or its output had no totals line."""


@dataclass(frozen=True)
class SuiteResult:
    """Outcome of one CLI run; unpacks as `(passed, failed, output)`."""

    passed: int
    failed: int
    output: str
    returncode: int
    failed_scenarios: tuple[str, ...] = field(default=())

    def __iter__(self) -> Iterator[object]:
        return iter((self.passed, self.failed, self.output))


def _cli(version: str) -> Path:
    if version not in _INSTALLS:
        raise ConformanceError(f"unknown conformance version {version!r}; use {LEGACY!r} or {ALPHA!r}")
    package = NODE_TOOLS / _INSTALLS[version] / "node_modules" / "@modelcontextprotocol" / "conformance"
    return package / "dist" / "index.js"


def missing_node_tools() -> str | None:
    """Why the conformance suites cannot run here, or None when they can."""
    needed = [NODE, _cli(LEGACY), _cli(ALPHA)]
    absent = [str(p.relative_to(REPO)) for p in needed if not p.exists()]
    if absent:
        return f"missing {', '.join(absent)}; run scripts/node-tools.sh"
    return None


def parse_totals(output: str) -> tuple[int, int]:
    """(passed, failed) from the last `Total: N passed, N failed` line."""
    found = _TOTAL.findall(_ANSI.sub("", output))
    if not found:
        raise ConformanceError("conformance output has no 'Total: N passed, N failed' line")
    passed, failed = found[-1]
    return int(passed), int(failed)


def parse_failed_scenarios(output: str) -> tuple[str, ...]:
    """Names of the scenarios the summary marks with ✗."""
    return tuple(dict.fromkeys(_FAILED_SCENARIO.findall(_ANSI.sub("", output))))


def read_expected_failures(path: Path = EXPECTED_FAILURES_2026) -> dict[str, str]:
    """`{scenario: reason}` from an expected-failures file whose entries read `- name  # reason`."""
    entries: dict[str, str] = {}
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\w+:\s*(#.*)?$", line):
            section = line.split(":", 1)[0]
        elif section == "server" and (m := _EXPECTED_ENTRY.match(line)):
            entries[m.group(1)] = (m.group(2) or "").strip()
    return entries


def _env(url: str, version: str, headers: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODE_")}
    if not headers:
        return [], env
    parts = urlsplit(url)
    env["MSPLEX_CONFORMANCE_HEADERS"] = json.dumps(dict(headers))
    env["MSPLEX_CONFORMANCE_ORIGIN"] = f"{parts.scheme}://{parts.netloc}"
    env["MSPLEX_CONFORMANCE_UNDICI"] = str(NODE_TOOLS / _INSTALLS[version] / "node_modules" / "undici")
    return ["--import", _PRELOAD.as_uri()], env


async def _node(args: Sequence[str], env: Mapping[str, str], time_limit: float) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="conformance-") as cwd:
        proc = await asyncio.create_subprocess_exec(
            str(NODE),
            *args,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            raw, _ = await asyncio.wait_for(proc.communicate(), time_limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ConformanceError(f"conformance run exceeded {time_limit:.0f}s") from None
    return proc.returncode or 0, raw.decode("utf-8", "replace")


async def run_suite(
    url: str,
    version: str,
    extra_args: Sequence[str] = (),
    *,
    headers: Mapping[str, str] | None = None,
    time_limit: float = 600.0,
) -> SuiteResult:
    """Run `conformance server --url URL *extra_args` with the given suite version.

    `extra_args` selects the suite (`--suite active`, `--spec-version 2026-07-28`,
    `--expected-failures FILE`, ...). `headers` (e.g. a bearer token) are added
    to every request sent to URL's origin; `time_limit` bounds the run (seconds).
    """
    reason = missing_node_tools()
    if reason:
        raise ConformanceError(reason)
    preload, env = _env(url, version, headers)
    args = [*preload, str(_cli(version)), "server", "--url", url, *extra_args]
    returncode, output = await _node(args, env, time_limit)
    passed, failed = parse_totals(output)
    return SuiteResult(passed, failed, output, returncode, parse_failed_scenarios(output))


async def list_extension_scenarios(time_limit: float = 60.0) -> frozenset[str]:
    """Server scenarios the alpha marks `[extension]` (not on the spec timeline)."""
    reason = missing_node_tools()
    if reason:
        raise ConformanceError(reason)
    returncode, output = await _node([str(_cli(ALPHA)), "list", "--server"], os.environ, time_limit)
    if returncode:
        raise ConformanceError(f"conformance list failed ({returncode}): {output[-500:]}")
    return frozenset(re.findall(r"^\s*- ([\w.-]+) \[extension\]\s*$", output, re.MULTILINE))
