"""Real processes for end-to-end tests: the gateway (``msplex serve``), upstream servers, CLI runs.

Contract: everything binds 127.0.0.1 on a free port, logs to a file under the
gateway's temp ``MSPLEX_HOME`` (read it with ``log_text()``), and is stopped
(terminate, then kill) by ``stop()``. A gateway gets a fixed
``MSPLEX_SECRET_KEY`` so a second process on the same store can serve its
sessions. CLI calls cost ~1 s each (interpreter start-up), so fixtures should
set up with ``cli_batch`` (many commands, one interpreter).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

__all__ = [
    "ACCEPT",
    "EVERYTHING",
    "LEDGER",
    "REPO",
    "GatewayProcess",
    "ServerProcess",
    "bearer",
    "connect",
    "free_port",
    "jsonrpc_of",
    "legacy_headers",
    "modern_request",
    "open_legacy_session",
    "rpc",
    "start_all",
    "stop_all",
    "wait_port",
]

REPO = Path(__file__).resolve().parents[2]
EVERYTHING = REPO / "tests" / "fixtures" / "upstreams" / "everything.py"
LEDGER = REPO / "tests" / "fixtures" / "upstreams" / "ledger.py"
START_TIMEOUT = 30.0
MODERN = "2026-07-28"
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPS = "io.modelcontextprotocol/clientCapabilities"

_BATCH = r"""
import contextlib, io, json, sys
from msplex.cli.app import app
out = []
for args in json.loads(sys.argv[1]):
    buf, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        try:
            rv = app(args, standalone_mode=False)
            code = rv if isinstance(rv, int) else 0
        except SystemExit as exc:
            code = exc.code or 0
        except BaseException as exc:
            code = getattr(exc, "exit_code", 1)
    out.append({"args": args, "code": code, "stdout": buf.getvalue(), "stderr": err.getvalue()})
print(json.dumps(out))
"""


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, chosen below the kernel's ephemeral range: a port from
    ``bind(0)`` is an ephemeral one, which any outgoing connection of a parallel test worker may
    take before the server that was meant to listen on it starts ("address already in use")."""
    low = 20000 if _EPHEMERAL[0] > 21000 else _EPHEMERAL[1] + 1
    high = _EPHEMERAL[0] if _EPHEMERAL[0] > 21000 else 65535
    for _ in range(200):
        port = random.randrange(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port found in {low}-{high}")


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout:g} s")


def _stop(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_all(*procs: ServerProcess | GatewayProcess) -> None:
    """Launch every process, then wait for each: start-up (imports) overlaps."""
    for proc in procs:
        proc.launch()
    for proc in procs:
        proc.wait_ready()


def stop_all(*procs: ServerProcess | GatewayProcess) -> None:
    """Signal every process, then reap each."""
    for proc in procs:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.proc.terminate()
    for proc in procs:
        proc.stop()


class ServerProcess:
    """A child process serving on ``port`` (an upstream fixture, a Node server), output to ``log``."""

    def __init__(self, argv: Sequence[str], port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.port = port
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def everything(cls, log_dir: Path, *flags: str) -> ServerProcess:
        port = free_port()
        argv = [sys.executable, str(EVERYTHING), "--port", str(port), *flags]
        return cls(argv, port, log_dir / f"everything-{port}.log")

    @classmethod
    def ledger(cls, log_dir: Path) -> ServerProcess:
        """``tests/fixtures/upstreams/ledger.py``: destructive tools that record every run."""
        port = free_port()
        return cls([sys.executable, str(LEDGER), "--port", str(port)], port, log_dir / f"ledger-{port}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def launch(self) -> None:
        """Start the process (no-op while it runs); ``wait_ready`` waits for its port."""
        if self.proc is not None and self.proc.poll() is None:
            return
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env
            )

    def wait_ready(self) -> None:
        wait_port(self.port, self.proc)

    def start(self) -> ServerProcess:
        self.launch()
        self.wait_ready()
        return self

    def stop(self) -> None:
        _stop(self.proc, 5)


class GatewayProcess:
    """``msplex serve`` in its own ``MSPLEX_HOME``; ``url()``, ``cli()``, ``token()``, ``stop()``.
    An ``env`` value of ``None`` removes that variable."""

    def __init__(
        self,
        home: Path,
        *,
        secret_key: str | None = None,
        port: int | None = None,
        env: dict[str, str | None] | None = None,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.home = home
        self.serve_args = tuple(serve_args)
        self.extra_env = dict(env or {})
        self.port = port or free_port()
        self.secret_key = secret_key or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self.log = home / f"gateway-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        home.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSPLEX_")}
        env.update(
            MSPLEX_HOME=str(self.home),
            MSPLEX_PORT=str(self.port),
            MSPLEX_SECRET_KEY=self.secret_key,
            MSPLEX_LOG_LEVEL="info",
            # The suite's stdio fixtures run on this venv's interpreter, which 'nobody' (the default
            # stdio user when the gateway runs as root) may not be able to reach; test_stdio_isolation
            # covers the confinement itself.
            MSPLEX_STDIO_USER="",
        )
        for key, value in self.extra_env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, tenant: str | None = None) -> str:
        return f"{self.base}/mcp/v1/{tenant}" if tenant else f"{self.base}/mcp"

    def sibling(self) -> GatewayProcess:
        """A second replica: same home (store) and secret key, another port."""
        return GatewayProcess(self.home, secret_key=self.secret_key)

    # processes -----------------------------------------------------------

    def launch(self) -> None:
        """Start ``msplex serve`` (no-op while it runs); ``wait_ready`` waits for /healthz."""
        if self.proc is not None and self.proc.poll() is None:
            return
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "msplex", "serve", *self.serve_args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=REPO,
            )

    def start(self) -> GatewayProcess:
        self.launch()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"msplex serve exited with {self.proc.returncode}: {self.log_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"msplex serve did not answer /healthz: {self.log_text()[-2000:]}")

    def stop(self) -> None:
        _stop(self.proc, 10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # CLI -----------------------------------------------------------------

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "msplex", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        if check and done.returncode != 0:
            raise AssertionError(f"msplex {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done

    async def acli(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        """``cli`` without blocking the event loop (clients in the test keep running)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "msplex",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        code = proc.returncode or 0
        if check and code != 0:
            raise AssertionError(f"msplex {' '.join(args)} failed ({code}): {err.decode()}")
        return code, out.decode(), err.decode()

    def cli_batch(self, commands: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
        """Run many CLI commands in one interpreter; each result has code/stdout/stderr."""
        done = subprocess.run(
            [sys.executable, "-c", _BATCH, json.dumps([list(c) for c in commands])],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"CLI batch failed: {done.stderr[-2000:]}")
        results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
        for result in results:
            if result["code"] != 0:
                raise AssertionError(f"msplex {' '.join(result['args'])} failed: {result['stderr']}")
        return results

    def token(self, tenant: str) -> str:
        return self.cli("token", "create", "--tenant", tenant).stdout.strip().splitlines()[-1]

    def discover(self, tenant: str | None, token: str | None) -> int:
        """HTTP status of a 2026-07-28 ``server/discover`` for ``tenant`` with ``token``."""
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "server/discover",
            "params": {"_meta": {META_VERSION: MODERN, META_CAPS: {}}},
        }
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": MODERN,
            "Mcp-Method": "server/discover",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url(tenant), json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def wait_accepts(self, tenant: str, token: str, timeout: float = 5.0) -> float:
        """Wait until the running gateway serves ``tenant`` to ``token`` (the CLI's change reached it);
        returns the seconds that took."""
        started = time.monotonic()
        while self.discover(tenant, token) != 200:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"the gateway did not accept the new token for {tenant} within {timeout:g} s")
            time.sleep(0.05)
        return time.monotonic() - started


@contextlib.asynccontextmanager
async def connect(url: str, token: str | None = None, mode: str = "legacy", **kwargs: Any) -> AsyncIterator[Client]:
    """An entered SDK ``Client`` for ``url`` with a bearer token; ``mode`` is ``legacy`` or ``2026-07-28``.

    The HTTP client is closed on exit too, so no connection outlives the test.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs.setdefault("read_timeout_seconds", 30.0)
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=60.0)) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, **kwargs) as client:  # type: ignore[arg-type]
            yield client


# Raw HTTP, for what SDK clients never send (bad input, replayed sessions, cross-replica calls).

ACCEPT = "application/json, text/event-stream"
LEGACY_VERSION = "2025-11-25"


def rpc(method: str, params: dict[str, Any] | None = None, rid: int | str | None = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if rid is not None:
        message["id"] = rid
    if params is not None:
        message["params"] = params
    return message


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def legacy_headers(token: str | None, session: str | None = None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT, **bearer(token)}
    if session is not None:
        headers["Mcp-Session-Id"] = session
        headers["MCP-Protocol-Version"] = LEGACY_VERSION
    return headers


def modern_request(
    method: str, params: dict[str, Any] | None = None, token: str | None = None, name: str | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and body of a well-formed 2026-07-28 request."""
    body = rpc(method, {**(params or {}), "_meta": {META_VERSION: MODERN, META_CAPS: {}}})
    headers = {
        "Content-Type": "application/json",
        "Accept": ACCEPT,
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": method,
        **bearer(token),
    }
    if name is not None:
        headers["Mcp-Name"] = name
    return headers, body


async def open_legacy_session(http: httpx2.AsyncClient, url: str, token: str | None) -> str:
    """``initialize`` + ``notifications/initialized``; returns the ``Mcp-Session-Id``."""
    params = {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
    response = await http.post(url, json=rpc("initialize", params), headers=legacy_headers(token))
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    done = await http.post(url, json=rpc("notifications/initialized", rid=None), headers=legacy_headers(token, session))
    assert done.status_code == 202, done.text
    return session


def jsonrpc_of(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of a response, whether sent as JSON or as SSE (the last ``data:``)."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return dict(json.loads(data[-1]))
    return dict(response.json())
