"""Fixture upstream processes on 127.0.0.1 for the upstream-session tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from support.gateway import free_port

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upstreams" / "everything.py"
STDIO_COMMAND = (sys.executable, str(FIXTURE), "--stdio")


class FixtureServer:
    """One fixture upstream process; ``restart`` keeps the port (sessions die with the process)."""

    def __init__(self, *flags: str) -> None:
        self.flags = flags
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> FixtureServer:
        cmd = [sys.executable, str(FIXTURE), "--port", str(self.port), *self.flags]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fixture server exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("fixture server did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()
