"""Run ``msplex`` in-process (typer's runner) or as a real process, against a fresh home."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from msplex.cli import app
from support.cli import Cli, Proc
from support.gateway import free_port

EVERYTHING = Path(__file__).resolve().parents[1] / "fixtures" / "upstreams" / "everything.py"


@pytest.fixture(autouse=True)
def msplex_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put this interpreter's ``bin`` first on PATH, as an activated venv does, so command hints read
    ``msplex ...`` here and in child processes (``test_hints`` covers the other case)."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def cli(msplex_home: Path) -> Cli:
    """``cli("tenant", "list")`` runs the command in this process; stdout and stderr stay apart."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def msplex_proc(msplex_home: Path) -> Proc:
    """``msplex_proc("status", env={...})`` runs ``python -m msplex`` as a separate process."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "msplex", *args], env=full_env, capture_output=True, text=True, timeout=60
        )

    return run


@pytest.fixture(scope="module")
def everything_url() -> Iterator[str]:
    """A real upstream MCP server (tools echo, slow, ...) on 127.0.0.1, as a separate process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(EVERYTHING), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"fixture upstream exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("fixture upstream did not listen") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
