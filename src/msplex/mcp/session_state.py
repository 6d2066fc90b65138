"""What legacy sessions accumulate after ``initialize``, and what replicas share about them.

Per process: the client's open streams and in-flight requests (they live on
this replica's sockets). Shared through ``SharedState`` (any replica may serve
any request of a session):

* the end of a session (DELETE): broadcast so every replica refuses the id at
  once; the store keeps the durable record, which a replica loads at start and
  whenever its subscription had to be re-established (``reload``);
* the log level a client set (``logging/setLevel``): broadcast likewise;
* a client's answer to a server-to-client request: the replica that asked waits
  for the entry ``answer:{sid}:{id}``, the replica the answer reaches puts it.
  The key holds the session id, so an answer counts only on the session asked.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from msplex import protocol
from msplex.mcp.session_ids import MAX_AGE_SECONDS
from msplex.protocol.jsonrpc import JSON
from msplex.state import SharedState, Subscription

__all__ = ["ANSWER_SECONDS", "SessionState"]

CHANNEL = "sessions"
IDLE_SECONDS = 24 * 3600.0
ANSWER_SECONDS = 3600.0
"""Upper bound on waiting for a client's answer; the call's own deadline normally ends it sooner."""
_LOCAL_LIMIT = 10_000
_ENDED_LIMIT = 100_000
_DEFAULT_LEVEL = "debug"


@dataclass
class _Local:
    log_level: str | None = _DEFAULT_LEVEL
    streams: set[asyncio.Queue[JSON | None]] = field(default_factory=set)
    inflight: dict[Any, asyncio.Task[Any]] = field(default_factory=dict)
    cancelled: set[Any] = field(default_factory=set)
    touched: float = field(default_factory=time.monotonic)


class SessionState:
    def __init__(self, state: SharedState) -> None:
        self._state = state
        self._local: dict[str, _Local] = {}
        self._ended: dict[str, float] = {}
        """Ended session ids and when this replica learned of it; forgotten once no id that old opens."""
        self._ids = itertools.count(1)
        self._prefix = f"msplex-{secrets.token_hex(4)}-"
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._state.subscribe(CHANNEL, self._received)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()

    def reload(self, ended: Iterable[str]) -> None:
        """Apply the durable list of ended sessions (at start, after missed broadcasts)."""
        for sid in ended:
            self._end_here(sid)

    def get(self, sid: str) -> _Local:
        local = self._local.get(sid)
        if local is None:
            if len(self._local) > _LOCAL_LIMIT:
                self._sweep()
            local = self._local[sid] = _Local()
        local.touched = time.monotonic()
        return local

    def ended(self, sid: str) -> bool:
        return sid in self._ended

    async def end(self, sid: str) -> None:
        self._end_here(sid)
        await self._state.publish(CHANNEL, {"ended": sid})

    async def set_level(self, sid: str, level: str) -> None:
        self.get(sid).log_level = level
        await self._state.publish(CHANNEL, {"level": level, "sid": sid})

    # server-to-client requests ------------------------------------------------------

    def next_request_id(self) -> str:
        """Unique across replicas: the answer may reach any of them."""
        return f"{self._prefix}{next(self._ids)}"

    async def await_answer(self, sid: str, request_id: str) -> JSON | None:
        answer = await self._state.take(f"answer:{sid}:{request_id}", timeout=ANSWER_SECONDS)
        return answer if isinstance(answer, dict) else None

    async def answer(self, sid: str, message: JSON) -> None:
        """A client's JSON-RPC response, posted on session ``sid``: hand it to whoever asked."""
        request_id = message.get("id")
        if not isinstance(request_id, str) or not request_id.startswith("msplex-"):
            return  # not an id this gateway issued
        if "error" in message:
            reply: JSON = {"error": message["error"]}
        else:
            reply = {"result": message.get("result")}
        await self._state.put(f"answer:{sid}:{request_id}", reply, ttl=ANSWER_SECONDS)

    # ------------------------------------------------------------------------------

    async def _received(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        if isinstance(sid := message.get("ended"), str):
            self._end_here(sid)
        elif isinstance(sid := message.get("sid"), str) and message.get("level") in protocol.LOG_LEVELS:
            self.get(sid).log_level = message["level"]

    def _end_here(self, sid: str) -> None:
        if len(self._ended) > _ENDED_LIMIT:
            cutoff = time.time() - MAX_AGE_SECONDS
            self._ended = {k: t for k, t in self._ended.items() if t >= cutoff}
        self._ended.setdefault(sid, time.time())
        local = self._local.pop(sid, None)
        if local is not None:
            for task in local.inflight.values():
                task.cancel()
            for queue in local.streams:
                queue.put_nowait(None)

    def _sweep(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for sid, local in list(self._local.items()):
            if local.touched < cutoff and not local.streams and not local.inflight:
                del self._local[sid]
