"""The load generator: N lean MCP clients over HTTP calling one tool in a closed loop.

Lean on purpose (aiohttp + orjson, hand-built JSON-RPC, ~0.2 ms CPU per call) so that the client is
never the bottleneck and every target is driven identically. It runs in its own process
(`python -m bench.loadgen`) so its CPU never mixes with the target's.

Protocol with the parent, one JSON line each way:
  stdin  <- the job (`Job` as JSON)
  stdout -> {"ready": true} once every client has finished its handshake
  stdin  <- "go"            (the parent samples the target's CPU between ready and go)
  stdout -> the `WorkerResult` as JSON after `seconds` have elapsed

Eras: `legacy` = initialize → Mcp-Session-Id → notifications/initialized → tools/call with the
negotiated MCP-Protocol-Version header; `modern` = stateless 2026-07-28 requests carrying `_meta`
and the MCP-Protocol-Version / Mcp-Method / Mcp-Name headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import orjson

__all__ = ["LEGACY_VERSION", "MODERN_VERSION", "Job", "McpHttpClient", "WorkerResult", "run_job"]

LEGACY_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
_CLIENT_INFO = {"name": "msplex-bench", "version": "1.0"}
_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass(frozen=True)
class Job:
    url: str
    tool: str
    clients: int
    seconds: float
    era: str = "legacy"  # "legacy" | "modern"
    headers: dict[str, str] = field(default_factory=dict)
    max_calls: int = 0  # per client; 0 = no limit (stop on time only)
    arguments: dict[str, Any] | None = None  # the tool's arguments; None: the echo tool's, checked


@dataclass
class WorkerResult:
    calls: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # successful calls only
    error_samples: list[str] = field(default_factory=list)  # first few, for the report
    setup_errors: int = 0
    cpu_s: float = 0.0  # this worker process's own CPU during the measured window


class CallError(Exception):
    """A call that completed at the transport level but is not a correct echo."""


def _parse_body(content_type: str, body: bytes, want_id: int) -> dict[str, Any]:
    """The JSON-RPC response with `want_id`, from a JSON body or an SSE stream body."""
    if content_type.startswith("application/json"):
        msg = orjson.loads(body)
        if isinstance(msg, dict):
            return msg
        raise CallError(f"unexpected JSON body: {body[:120]!r}")
    if content_type.startswith("text/event-stream"):
        for line in body.splitlines():
            if line.startswith(b"data:"):
                data = line[5:].strip()
                if not data:
                    continue
                msg = orjson.loads(data)
                if isinstance(msg, dict) and msg.get("id") == want_id:
                    return msg
        raise CallError("SSE stream ended without the response")
    raise CallError(f"unexpected content-type {content_type!r}")


class McpHttpClient:
    """One MCP client: its own TCP connection, session (legacy) and request ids."""

    def __init__(self, job: Job, index: int) -> None:
        self._job = job
        self._index = index
        self._next_id = 0
        self._session_id: str | None = None
        self._version = MODERN_VERSION if job.era == "modern" else LEGACY_VERSION
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, force_close=False),
            timeout=_TIMEOUT,
            json_serialize=lambda o: orjson.dumps(o).decode(),
        )
        self._base_headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **job.headers,
        }

    async def close(self) -> None:
        if self._session_id is not None:
            try:
                async with self._http.delete(self._job.url, headers=self._headers("")) as resp:
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError):
                pass  # best effort: the server reaps idle sessions anyway
        await self._http.close()

    def _headers(self, method: str, name: str | None = None) -> dict[str, str]:
        headers = dict(self._base_headers)
        if self._session_id is not None:
            headers["Mcp-Session-Id"] = self._session_id
        if self._job.era == "modern":
            headers["MCP-Protocol-Version"] = self._version
            headers["Mcp-Method"] = method
            if name is not None:
                headers["Mcp-Name"] = name
        elif method != "initialize":
            headers["MCP-Protocol-Version"] = self._version
        return headers

    async def _post(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any] | None]:
        async with self._http.post(self._job.url, data=orjson.dumps(payload), headers=headers) as resp:
            body = await resp.read()
            if resp.status == 202:
                return 202, None
            if resp.status != 200:
                raise CallError(f"HTTP {resp.status}: {body[:160]!r}")
            if "id" not in payload:
                return resp.status, None
            if self._session_id is None and "mcp-session-id" in resp.headers:
                self._session_id = resp.headers["mcp-session-id"]
            return resp.status, _parse_body(resp.headers.get("content-type", ""), body, payload["id"])

    async def setup(self) -> None:
        """Legacy: the handshake. Modern: nothing to set up (stateless)."""
        if self._job.era == "modern":
            return
        self._next_id += 1
        init = {
            "jsonrpc": "2.0",
            "id": self._next_id,
            "method": "initialize",
            "params": {"protocolVersion": LEGACY_VERSION, "capabilities": {}, "clientInfo": _CLIENT_INFO},
        }
        _, msg = await self._post(init, self._headers("initialize"))
        if msg is None or "result" not in msg:
            raise CallError(f"initialize failed: {msg!r}")
        self._version = str(msg["result"].get("protocolVersion", LEGACY_VERSION))
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self._post(note, self._headers("notifications/initialized"))

    async def call(self, text: str) -> None:
        """One tools/call; raises `CallError` (or a transport error) unless the echo comes back intact."""
        self._next_id += 1
        given = self._job.arguments
        params: dict[str, Any] = {"name": self._job.tool, "arguments": {"text": text} if given is None else given}
        if self._job.era == "modern":
            params["_meta"] = {
                "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": _CLIENT_INFO,
            }
        payload = {"jsonrpc": "2.0", "id": self._next_id, "method": "tools/call", "params": params}
        _, msg = await self._post(payload, self._headers("tools/call", self._job.tool))
        result = (msg or {}).get("result")
        if not isinstance(result, dict):
            raise CallError(f"no result: {str(msg)[:160]}")
        if result.get("isError"):
            raise CallError(f"tool error: {str(result)[:160]}")
        content = result.get("content") or [{}]
        if given is None and content[0].get("text") != text:
            raise CallError(f"echo mismatch: {str(content)[:160]}")


async def _client_loop(client: McpHttpClient, job: Job, deadline: float, out: WorkerResult) -> None:
    n = 0
    while time.perf_counter() < deadline and (job.max_calls == 0 or n < job.max_calls):
        n += 1
        t0 = time.perf_counter()
        try:
            await client.call(f"ping-{n}")
        except (CallError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            out.errors += 1
            if len(out.error_samples) < 5:
                out.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])
            continue
        finally:
            out.calls += 1
        out.latencies_ms.append((time.perf_counter() - t0) * 1000.0)


async def run_job(job: Job, ready: asyncio.Event | None = None, go: asyncio.Event | None = None) -> WorkerResult:
    """Set up `job.clients` clients, signal `ready`, wait for `go`, then loop for `job.seconds`.

    Clients whose handshake fails are counted in `setup_errors` (and as errors) and sit out the run.
    """
    out = WorkerResult()
    clients = [McpHttpClient(job, i) for i in range(job.clients)]
    try:
        setups = await asyncio.gather(*(c.setup() for c in clients), return_exceptions=True)
        live = []
        for client, res in zip(clients, setups, strict=True):
            if isinstance(res, BaseException):
                out.setup_errors += 1
                out.errors += 1
                if len(out.error_samples) < 5:
                    out.error_samples.append(f"setup {type(res).__name__}: {res}"[:300])
            else:
                live.append(client)
        if ready is not None:
            ready.set()
        if go is not None:
            await go.wait()
        cpu0 = time.process_time()
        start = time.perf_counter()
        deadline = start + job.seconds
        await asyncio.gather(*(_client_loop(c, job, deadline, out) for c in live))
        out.elapsed_s = time.perf_counter() - start
        out.cpu_s = time.process_time() - cpu0
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return out


async def _worker_main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    job = Job(**orjson.loads(await reader.readline()))
    ready, go = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_job(job, ready, go))
    await ready.wait()
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    if (await reader.readline()).strip() == b"go":
        go.set()
        result = await task
    else:  # parent went away or aborted: close the clients and finish quietly
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    sys.stdout.write(orjson.dumps(asdict(result)).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(_worker_main())
    except ImportError:
        asyncio.run(_worker_main())
