"""``UpstreamSession`` over a supervised stdio child (legacy handshake, newline-delimited JSON-RPC).

Invariants:

* The child is confined and ended as ``_process`` says: a minimal environment,
  its own process group (``close`` reaches grandchildren), dead with the gateway.
* If it exits, every pending request fails with ``UpstreamUnavailable``; the
  next use restarts it, waiting out an exponential backoff (0 s for the first
  crash, then 0.5 s doubling, capped at 30 s; reset after 60 s of uptime).
* stderr goes line by line to the ``msplex.upstream.stdio`` logger, with the
  values of the child's ``env`` (its secrets) redacted.

stdio has no per-request stream and the protocol carries no related request id
for a server-to-client message, so routing is by what the message itself says:
``notifications/progress`` goes to the request owning its ``progressToken``.
Other notifications and server-to-client requests go to the oldest pending
request that can take them only when every such request serves the same
``caller`` (one client connection); otherwise nobody can tell whose it is, and
it goes to no request (the unsolicited sink / ``on_server_request``, which
answer without involving any client) rather than to a stranger.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from msplex import protocol
from msplex.upstream import _rpc
from msplex.upstream._process import Child, kill_group, spawn, terminate
from msplex.upstream.base import (
    JSON,
    NotificationSink,
    RequestSink,
    ServerFacts,
    UpstreamProtocolError,
    UpstreamSpec,
    UpstreamUnavailable,
)

__all__ = ["StdioSession"]

log = logging.getLogger("msplex.upstream.stdio")

_STABLE_AFTER = 60.0
_MAX_BACKOFF = 30.0


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[JSON]
    on_notification: NotificationSink | None
    on_request: RequestSink | None
    progress_token: Any = None
    caller: str | None = None


@dataclass(slots=True)
class _Child:
    spawned: Child
    proc: asyncio.subprocess.Process
    started_at: float
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


class StdioSession:
    """One supervised child process speaking MCP on stdin/stdout (see module docstring)."""

    def __init__(self, spec: UpstreamSpec, *, user: str | None = None) -> None:
        if not spec.command:
            raise ValueError("a stdio upstream needs a command")
        self._user = user
        self.name = spec.name
        self._spec = spec
        self._facts: ServerFacts | None = None
        self._child: _Child | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._crashes = 0
        self._next_start = 0.0
        self._closed = False
        self._sink: NotificationSink | None = None
        self._server_request_sink: RequestSink | None = None
        self._bg: set[asyncio.Task[Any]] = set()
        self._secrets = tuple(sorted({v for _, v in spec.env if len(v) >= 4}, key=len, reverse=True))

    @property
    def facts(self) -> ServerFacts | None:
        return self._facts

    @property
    def pid(self) -> int | None:
        return self._child.proc.pid if self._child else None

    async def start(self) -> ServerFacts:
        if self._facts is not None and self._child is not None:
            return self._facts
        async with self._lock:
            if self._facts is None or self._child is None:
                await self._spawn()
        assert self._facts is not None
        return self._facts

    async def request(
        self,
        method: str,
        params: JSON | None = None,
        *,
        on_notification: NotificationSink | None = None,
        on_request: RequestSink | None = None,
        caller: str | None = None,
    ) -> JSON:
        if self._child is None:
            await self.start()
        return await self._call(method, params, on_notification, on_request, caller)

    async def notify(self, method: str, params: JSON | None = None) -> None:
        if self._child is None:
            await self.start()
        msg: JSON = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        await self._write(msg)

    def on_unsolicited(self, sink: NotificationSink) -> None:
        self._sink = sink

    def on_server_request(self, sink: RequestSink) -> None:
        """Answerer for server-to-client requests while no request with an ``on_request`` is pending."""
        self._server_request_sink = sink

    async def unsolicited_ready(self) -> bool:
        await self.start()
        return True

    async def subscribe_resource(self, uri: str) -> JSON:
        return await self.request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> JSON:
        return await self.request("resources/unsubscribe", {"uri": uri})

    async def close(self) -> None:
        self._closed = True
        async with self._lock:
            await self._stop()
        for task in list(self._bg):
            task.cancel()
        await asyncio.gather(*self._bg, return_exceptions=True)

    # -- lifecycle --------------------------------------------------------------------------------

    async def _spawn(self) -> None:
        if self._closed:
            raise UpstreamUnavailable(f"upstream {self.name!r} session is closed")
        wait = self._next_start - time.monotonic()
        if wait > 0:
            log.info("upstream %r: restarting in %.1f s", self.name, wait)
            await asyncio.sleep(wait)
        try:
            spawned = await spawn(self._spec.command, self._spec.env, self._user)
        except OSError as exc:
            self._record_crash()
            raise UpstreamUnavailable(f"upstream {self.name!r} could not start ({type(exc).__name__})") from None
        child = _Child(spawned, spawned.process, time.monotonic())
        self._child = child
        child.tasks = [
            asyncio.create_task(self._read_stdout(child)),
            asyncio.create_task(self._read_stderr(child)),
            asyncio.create_task(self._watch(child)),
        ]
        try:
            params = {
                "protocolVersion": protocol.LEGACY_VERSION,
                "capabilities": _rpc.CAPABILITIES,
                "clientInfo": _rpc.CLIENT_INFO,
            }
            reply = await self._call("initialize", params, None, None, None)
            result = reply.get("result")
            if result is None or result.get("protocolVersion") not in protocol.LEGACY_VERSIONS:
                raise UpstreamProtocolError(f"upstream {self.name!r} refused or mis-negotiated initialize")
            await self._write({"jsonrpc": "2.0", "method": "notifications/initialized"})
        except BaseException:
            await self._stop()
            raise
        self._facts = _rpc.server_facts("legacy", result["protocolVersion"], result.get("serverInfo"), result)

    def _record_crash(self) -> None:
        child = self._child
        if child is not None and time.monotonic() - child.started_at > _STABLE_AFTER:
            self._crashes = 0
        delay = 0.0 if self._crashes == 0 else min(0.5 * 2 ** (self._crashes - 1), _MAX_BACKOFF)
        self._crashes += 1
        self._next_start = time.monotonic() + delay

    async def _watch(self, child: _Child) -> None:
        code = await child.proc.wait()
        if self._child is not child:
            return
        log.warning("upstream %r: child exited with status %s", self.name, code)
        self._record_crash()
        self._child = None
        self._facts = None
        self._fail_pending(f"upstream {self.name!r} process exited")
        await terminate(child.spawned)  # grandchildren left in its group, its working directory
        if self._sink is not None and not self._closed:
            self._spawn_bg(self._restart_quietly())

    async def _restart_quietly(self) -> None:
        """Keep unsolicited notifications flowing: a registered sink means someone is listening."""
        with contextlib.suppress(UpstreamUnavailable, UpstreamProtocolError):
            await self.start()

    async def _stop(self) -> None:
        child, self._child = self._child, None
        self._facts = None
        if child is None:
            return
        await terminate(child.spawned)
        for task in child.tasks:
            task.cancel()
        await asyncio.gather(*child.tasks, return_exceptions=True)
        self._fail_pending(f"upstream {self.name!r} session closed")

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(UpstreamUnavailable(why))

    def _spawn_bg(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    # -- messages ---------------------------------------------------------------------------------

    async def _write(self, msg: JSON) -> None:
        child = self._child
        if child is None or child.proc.stdin is None:
            raise UpstreamUnavailable(f"upstream {self.name!r} process is not running")
        data = _rpc.encode(msg) + b"\n"
        try:
            async with self._write_lock:
                child.proc.stdin.write(data)
                await child.proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise UpstreamUnavailable(f"upstream {self.name!r} stdin closed ({type(exc).__name__})") from None

    async def _call(
        self,
        method: str,
        params: JSON | None,
        on_notification: NotificationSink | None,
        on_request: RequestSink | None,
        caller: str | None,
    ) -> JSON:
        rid = next(self._ids)
        msg: JSON = {"jsonrpc": "2.0", "id": rid, "method": method}
        token = None
        if params is not None:
            msg["params"] = params
            meta = params.get("_meta")
            if isinstance(meta, dict):
                token = meta.get("progressToken")
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[rid] = _Pending(future, on_notification, on_request, token, caller)
        try:
            await self._write(msg)
            return await future
        except asyncio.CancelledError:
            if self._child is not None and method != "initialize":
                cancel = {
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": rid, "reason": "cancelled by the gateway"},
                }
                self._spawn_bg(self._write_quietly(cancel))
            raise
        finally:
            self._pending.pop(rid, None)

    async def _write_quietly(self, msg: JSON) -> None:
        with contextlib.suppress(UpstreamUnavailable):
            await self._write(msg)

    async def _read_stdout(self, child: _Child) -> None:
        assert child.proc.stdout is not None
        stream = child.proc.stdout
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line beyond the limit: the stream is unusable
                log.error("upstream %r: oversized message on stdout", self.name)
                kill_group(child.proc.pid)
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                for msg in _rpc.messages(_rpc.decode(line)):
                    await self._on_message(msg)
            except UpstreamProtocolError:
                log.warning("upstream %r: ignored a malformed line on stdout", self.name)

    async def _on_message(self, msg: JSON) -> None:
        if "method" not in msg:
            pending = self._pending.get(msg.get("id"))  # type: ignore[arg-type]
            if pending is not None and not pending.future.done():
                try:
                    pending.future.set_result(_rpc.response_of(msg))
                except UpstreamProtocolError as exc:
                    pending.future.set_exception(exc)
            return
        target = self._route(msg)
        if "id" in msg:
            sink = target.on_request if target is not None else self._server_request_sink
            self._spawn_bg(self._answer(msg, sink))
        else:
            await _rpc.notify_sink(target.on_notification if target is not None else self._sink, msg)

    def _route(self, msg: JSON) -> _Pending | None:
        params = msg.get("params")
        if msg.get("method") == "notifications/progress" and isinstance(params, dict):
            token = params.get("progressToken")
            for p in self._pending.values():
                if p.progress_token is not None and p.progress_token == token:
                    return p
            return None
        if "id" in msg:
            return self._only_caller([p for p in self._pending.values() if p.on_request is not None])
        if msg.get("method") == "notifications/message":
            return self._only_caller([p for p in self._pending.values() if p.on_notification is not None])
        return None

    @staticmethod
    def _only_caller(candidates: list[_Pending]) -> _Pending | None:
        """The oldest candidate, when it is the only one or all of them serve one named caller; else nobody."""
        if len(candidates) == 1:
            return candidates[0]
        if not candidates or candidates[0].caller is None:
            return None
        if any(p.caller != candidates[0].caller for p in candidates[1:]):
            return None
        return candidates[0]

    async def _answer(self, msg: JSON, sink: RequestSink | None) -> None:
        reply = await _rpc.answer(msg, sink)
        await self._write_quietly(reply)

    async def _read_stderr(self, child: _Child) -> None:
        assert child.proc.stderr is not None
        while True:
            try:
                line = await child.proc.stderr.readline()
            except ValueError:
                continue  # an over-long line was dropped; keep reading
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()
            for secret in self._secrets:
                text = text.replace(secret, "[redacted]")
            log.info("[%s] %s", self.name, text)
