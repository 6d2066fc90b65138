"""Virtual environments for the peer gateways, under `.cache/bench/<name>`.

Each peer gets its own venv because their dependencies clash with ours (both pin `mcp<2`, we run
`mcp` 2.x). Installing is idempotent: a marker file records the exact requirement list, and a venv
whose marker matches is reused without touching the network.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.procs import StartError, run_cmd

__all__ = ["CONTEXTFORGE", "MCP_PROXY", "PeerSpec", "ensure_venv"]


@dataclass(frozen=True)
class PeerSpec:
    name: str
    requirements: tuple[str, ...]
    probe: str  # a console script that must exist afterwards


CONTEXTFORGE = PeerSpec("contextforge", ("mcp-contextforge-gateway",), "mcpgateway")
MCP_PROXY = PeerSpec("mcp-proxy", ("mcp-proxy==0.13.0", "mcp<2"), "mcp-proxy")

_MARKER = ".bench-installed"


def _base_python() -> str:
    """The interpreter to build venvs from: the base install behind our own venv."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base) if base.exists() else sys.executable


async def ensure_venv(spec: PeerSpec, cache_dir: Path, *, limit_s: float = 900.0) -> Path:
    """Return the venv's bin directory, installing `spec` first if needed.

    Raises `StartError` (with pip's last lines) when the install fails; a half-built venv is
    removed so the next run starts clean.
    """
    venv = cache_dir / spec.name
    bindir = venv / "bin"
    marker = venv / _MARKER
    wanted = "\n".join(spec.requirements)
    if marker.exists() and marker.read_text() == wanted and (bindir / spec.probe).exists():
        return bindir
    print(f"[bench] installing {spec.name} into {venv} ({', '.join(spec.requirements)}) …", flush=True)
    try:
        if not (bindir / "python").exists():
            await run_cmd([_base_python(), "-m", "venv", str(venv)], limit_s=120)
        await run_cmd(
            [
                str(bindir / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *spec.requirements,
            ],
            limit_s=limit_s,
        )
    except StartError:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    if not (bindir / spec.probe).exists():
        shutil.rmtree(venv, ignore_errors=True)
        raise StartError(f"{spec.name}: installed, but {spec.probe} is missing")
    marker.write_text(wanted)
    return bindir
