"""The Redis backend: the state that replicas behind a load balancer share.

Under the prefix ``p``: entries and counters live at ``p`` + ``v:<key>``
(``admit`` is one Lua script over its counters, so it is atomic and one round trip),
locks at ``p`` + ``lock:<key>``, channels are ``p`` + ``ch:<channel>``, and
every ``put`` publishes its key on ``p`` + ``wake`` so that ``take`` calls
waiting on any replica retry their ``GETDEL`` (which is what makes a take
exactly-once).

Commands use a bounded pool that retries briefly on connection errors.
Pub/sub uses one dedicated connection per instance, read by one background
task that multiplexes every channel, the wake channel included, and hands
messages to each subscription's own task. Redis acknowledges (UN)SUBSCRIBE
in the order they were sent, so a FIFO of expected acknowledgements tells
when a subscription is live (so ``subscribe()`` waits out an outage). When
the link drops (or stays silent through a PING) the reader reconnects with
backoff, re-subscribes everything, re-checks every waiting take (its wake-up
may have been lost) and then runs the ``on_resync`` callbacks.

Needs Redis 6.2 or later (``GETDEL``). The URL may carry a password: only
its masked form is logged or put in an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from msplex.state import JSON, Admission, Handler, Limit, LockTimeout
from msplex.state.memory import LocalSubscription

__all__ = ["RedisState"]

logger = logging.getLogger("msplex.state")

_RECONNECT_FIRST = 0.1
_RECONNECT_MAX = 5.0
_IDLE_PING = 15.0
"""A silent pub/sub link is pinged after this many seconds, and given up after as long again."""
_ACK_WITHIN = 5.0
_LOCK_POLL_FIRST = 0.02
_LOCK_POLL_MAX = 0.1
_POOL_SIZE = 32

_INCR_WINDOW = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""
_ADMIT = """
local amount = tonumber(ARGV[1])
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = tonumber(redis.call('GET', key) or '0')
end
for i = 1, #KEYS do
  if ARGV[3 * i + 1] == '1' and counts[i] + amount > tonumber(ARGV[3 * i - 1]) then
    table.insert(counts, 1, i)
    return counts
  end
end
for i, key in ipairs(KEYS) do
  local created = redis.call('EXISTS', key) == 0
  counts[i] = redis.call('INCRBY', key, amount)
  if created then redis.call('PEXPIRE', key, ARGV[3 * i]) end
end
table.insert(counts, 1, 0)
return counts
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def _mask_url(url: str) -> str:
    """``url`` with its password (in the userinfo or a ``password=`` query) replaced by ``***``.

    Everything before the last ``@`` counts as userinfo, so a password holding
    ``/`` or ``#`` is masked too (over-masking an odd URL is harmless).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, location = rest.rpartition("@")
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return scheme + sep + _QUERY_PASSWORD.sub(r"\1***", userinfo + at + location)


def _millis(ttl: float) -> int:
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")
    return max(1, math.ceil(ttl * 1000))


def _decode(data: bytes | str | None) -> JSON | None:
    if data is None:
        return None
    value: JSON = orjson.loads(data)
    return value


async def _wait(event: asyncio.Event, deadline: float) -> bool:
    """Whether ``event`` is set before the loop's clock reaches ``deadline``."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout_at(deadline):
            await event.wait()
    except TimeoutError:
        return False
    return True


@dataclass(eq=False)
class _Channel:
    subs: list[LocalSubscription] = field(default_factory=list)
    live: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once Redis acknowledged the SUBSCRIBE on the current link."""


class RedisState:
    """``SharedState`` on Redis; several instances with one prefix behave as replicas of one gateway."""

    backend: str = "redis"

    def __init__(self, url: str, *, prefix: str = "msplex:") -> None:
        """Parse ``url`` (``ValueError``, password masked, if it is not a Redis URL); nothing connects yet."""
        self._url = _mask_url(url)
        try:
            options: dict[str, Any] = dict(parse_url(url))
        except ValueError as exc:
            reason = str(exc)
            if reason.startswith("Port"):
                reason = "the port is not a number (percent-encode any '/', '?' or '#' in the password)"
            raise ValueError(f"invalid Redis URL {self._url}: {reason}") from None
        defaults: dict[str, Any] = {"socket_connect_timeout": 5.0, "socket_timeout": 10.0}
        if "path" not in options:
            defaults["socket_keepalive"] = True
        self._pool = BlockingConnectionPool(
            **{
                "max_connections": _POOL_SIZE,
                "timeout": 10.0,
                "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                **defaults,
                **options,
                "decode_responses": False,
            }
        )
        pubsub = ConnectionPool(
            **{
                "client_name": re.sub(r"[^!-~]", "_", f"{prefix}pubsub"),
                **defaults,
                **options,
                "decode_responses": False,
                "protocol": 2,
                "retry": Retry(NoBackoff(), 0),
                "socket_timeout": None,
            }
        )
        self._conn: AbstractConnection = pubsub.make_connection()  # type: ignore[no-untyped-call]
        self._client = Redis(connection_pool=self._pool)
        self._incr_window = self._client.register_script(_INCR_WINDOW)
        self._release = self._client.register_script(_RELEASE)
        self._admit = self._client.register_script(_ADMIT)
        self._prefix = prefix
        self._wake_name = f"{prefix}wake".encode()
        self._wake = _Channel()
        self._channels: dict[bytes, _Channel] = {self._wake_name: self._wake}
        self._acks: deque[tuple[bytes, bytes, _Channel | None]] = deque()
        self._send_lock = asyncio.Lock()
        self._up = False
        self._takers: dict[str, set[asyncio.Event]] = {}
        self._resync: list[Callable[[], Awaitable[None]]] = []
        self._reader: asyncio.Task[None] | None = None
        self._resyncing: asyncio.Task[None] | None = None
        self._resync_again = False
        self._closed = False

    async def start(self) -> None:
        if self._reader is not None or self._closed:
            raise RuntimeError("RedisState.start() can be called once, before close()")
        try:
            await self._client.ping()
            await self._link()
        except (RedisError, OSError) as exc:
            await self._disconnect()
            raise ConnectionError(f"Redis at {self._url} is unavailable: {exc}") from exc
        self._reader = asyncio.create_task(self._read_forever(), name="msplex.state redis pub/sub")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._up = False
        for waiters in self._takers.values():
            for woken in waiters:
                woken.set()
        channels = list(self._channels.values())
        self._channels.clear()
        for entry in channels:
            entry.live.set()
        current = asyncio.current_task()
        tasks = [task for task in (self._reader, self._resyncing) if task is not None and task is not current]
        for task in tasks:
            task.cancel()
        await self._conn.disconnect(nowait=True)
        await asyncio.gather(*tasks, return_exceptions=True)
        for entry in channels:
            for sub in entry.subs:
                await sub.kill()
        await self._disconnect()

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        if ttl is None:
            return await self._client.incrby(self._key(key), amount)
        value = await self._incr_window(keys=[self._key(key)], args=[amount, _millis(ttl)])
        return int(value)

    async def admit(self, limits: Sequence[Limit], amount: int = 1) -> Admission:
        args: list[int] = [amount]
        for limit in limits:
            args += [limit.limit, _millis(limit.ttl), 1 if limit.hard else 0]
        reply = await self._admit(keys=[self._key(limit.key) for limit in limits], args=args)
        refused, *counts = (int(value) for value in reply)
        return Admission(refused - 1 if refused else None, tuple(counts))

    async def put(self, key: str, value: JSON, *, ttl: float) -> None:
        data = orjson.dumps(value)
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.set(self._key(key), data, px=_millis(ttl))
            pipe.publish(self._wake_name, key)
            await pipe.execute()

    async def take(self, key: str, *, timeout: float = 0.0) -> JSON | None:  # noqa: ASYNC109 - see SharedState.take
        name = self._key(key)
        data = await self._client.getdel(name)
        if data is not None or timeout <= 0 or self._closed:
            return _decode(data)
        deadline = asyncio.get_running_loop().time() + timeout
        woken = asyncio.Event()
        waiters = self._takers.setdefault(key, set())
        waiters.add(woken)
        try:
            await _wait(self._wake.live, deadline)
            while not self._closed:
                woken.clear()
                data = await self._client.getdel(name)
                if data is not None:
                    return _decode(data)
                if not await _wait(woken, deadline):
                    return _decode(await self._client.getdel(name))
            return None
        finally:
            waiters.discard(woken)
            if not waiters and self._takers.get(key) is waiters:
                del self._takers[key]

    async def peek(self, key: str) -> JSON | None:
        return _decode(await self._client.get(self._key(key)))

    async def delete(self, key: str) -> None:
        await self._client.delete(self._key(key))

    def lock(self, key: str, *, ttl: float, wait: float = 0.0) -> AbstractAsyncContextManager[None]:
        return self._hold(key, _millis(ttl), wait)

    async def publish(self, channel: str, message: JSON) -> None:
        await self._client.publish(self._channel_name(channel), orjson.dumps(message))

    async def subscribe(self, channel: str, handler: Handler) -> LocalSubscription:
        name = self._channel_name(channel)
        sub = LocalSubscription(channel, handler, partial(self._detach, name))
        async with self._send_lock:
            entry = self._channels.get(name)
            if entry is None and not self._closed:
                entry = self._channels[name] = _Channel()
                entry.subs.append(sub)
                await self._send(b"subscribe", name, entry)
            elif entry is not None:
                entry.subs.append(sub)
        try:
            if entry is not None:
                await entry.live.wait()
        except asyncio.CancelledError:
            await sub.close()
            raise
        if self._closed:
            sub.stop()
        return sub

    def on_resync(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._resync.append(callback)

    def _key(self, key: str) -> str:
        return f"{self._prefix}v:{key}"

    def _channel_name(self, channel: str) -> bytes:
        return f"{self._prefix}ch:{channel}".encode()

    @contextlib.asynccontextmanager
    async def _hold(self, key: str, ttl_ms: int, wait: float) -> AsyncIterator[None]:
        name = f"{self._prefix}lock:{key}"
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        pause = _LOCK_POLL_FIRST
        while not await self._client.set(name, token, px=ttl_ms, nx=True):
            remaining = deadline - loop.time()
            if self._closed or remaining <= 0:
                raise LockTimeout(key, wait)
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, _LOCK_POLL_MAX)
        try:
            yield
        finally:
            try:
                await self._release(keys=[name], args=[token])
            except (RedisError, OSError) as exc:
                logger.warning("could not release lock %r (%s); it lapses after its ttl", key, exc)

    async def _detach(self, name: bytes, sub: LocalSubscription) -> None:
        async with self._send_lock:
            entry = self._channels.get(name)
            if entry is None or sub not in entry.subs:
                return
            entry.subs.remove(sub)
            if not entry.subs:
                del self._channels[name]
                await self._send(b"unsubscribe", name, None)

    async def _send(self, kind: bytes, name: bytes, entry: _Channel | None) -> None:
        """(UN)SUBSCRIBE ``name`` now if the link is up, else the next ``_link`` covers it. Hold the send lock."""
        conn = self._conn
        if not self._up or not conn.is_connected:
            return
        self._acks.append((kind, name, entry))
        try:
            await conn.send_command(kind.decode().upper(), name, check_health=False)
        except Exception as exc:
            logger.debug("pub/sub %s of %r not sent (%s); the reader re-subscribes", kind.decode(), name, exc)

    async def _link(self) -> None:
        """Connect the pub/sub connection and subscribe every channel, returning once Redis acknowledged them all."""
        conn = self._conn
        async with asyncio.timeout(_ACK_WITHIN):
            await conn.connect()  # type: ignore[no-untyped-call]
        async with self._send_lock:
            if self._closed:
                return
            names = list(self._channels)
            self._acks.extend((b"subscribe", name, self._channels[name]) for name in names)
            await conn.send_command("SUBSCRIBE", *names, check_health=False)
            self._up = True
        while self._acks:
            reply = await conn.read_response(timeout=_ACK_WITHIN)
            if reply is None:
                raise RedisConnectionError(f"SUBSCRIBE not acknowledged within {_ACK_WITHIN:g}s")
            self._dispatch(reply)

    async def _unlink(self) -> None:
        self._up = False
        self._acks.clear()
        for entry in self._channels.values():
            entry.live.clear()
        await self._conn.disconnect(nowait=True)

    async def _read_forever(self) -> None:
        """Read the pub/sub link until ``close()``.

        Cancellation alone is not trusted to stop this task (redis-py and Python
        3.11's ``wait_for`` can swallow one), so every loop also checks ``_closed``.
        """
        while not self._closed:
            try:
                await self._pump()
            except (RedisError, OSError) as exc:
                if not self._closed:
                    logger.warning("pub/sub link to Redis at %s lost (%s); reconnecting", self._url, exc)
            except Exception:
                if not self._closed:
                    logger.exception("pub/sub reader for Redis at %s failed; reconnecting", self._url)
            if not await self._relink():
                return
            for waiters in self._takers.values():
                for woken in waiters:
                    woken.set()
            self._resync_again = True
            if self._resync and (self._resyncing is None or self._resyncing.done()):
                self._resyncing = asyncio.create_task(self._run_resync(), name="msplex.state resync")

    async def _pump(self) -> None:
        conn = self._conn
        pinged = False
        while not self._closed:
            reply = await conn.read_response(timeout=_IDLE_PING)
            if reply is not None:
                pinged = False
                self._dispatch(reply)
            elif pinged:
                raise RedisConnectionError(f"no answer to PING within {_IDLE_PING:g}s")
            else:
                pinged = True
                async with self._send_lock:
                    await conn.send_command("PING", check_health=False)

    async def _relink(self) -> bool:
        """Reconnect with backoff: ``True`` once every channel is subscribed again, ``False`` if closed first."""
        delay = _RECONNECT_FIRST
        while not self._closed:
            await self._unlink()
            await asyncio.sleep(delay)
            try:
                await self._link()
            except (RedisError, OSError) as exc:
                delay = min(delay * 2, _RECONNECT_MAX)
                logger.warning("pub/sub link to Redis at %s still down (%s); retrying in %gs", self._url, exc, delay)
                continue
            if not self._closed:
                logger.info("pub/sub link to Redis at %s restored", self._url)
                return True
        return False

    def _dispatch(self, reply: Any) -> None:
        if not isinstance(reply, list) or not reply:
            return
        kind = reply[0]
        if kind == b"message":
            name, data = reply[1], reply[2]
            if name == self._wake_name:
                for woken in self._takers.get(data.decode(), ()):
                    woken.set()
            elif (entry := self._channels.get(name)) is not None:
                for sub in entry.subs:
                    sub.deliver(data)
        elif kind in (b"subscribe", b"unsubscribe"):
            expected = self._acks.popleft() if self._acks else None
            if expected is None or expected[:2] != (kind, reply[1]):
                raise RedisConnectionError(f"unexpected pub/sub acknowledgement {kind!r} {reply[1]!r}")
            if expected[2] is not None:
                expected[2].live.set()

    async def _run_resync(self) -> None:
        """Run the callbacks, one at a time, and again if the link dropped meanwhile: runs never overlap."""
        while self._resync_again:
            self._resync_again = False
            for callback in list(self._resync):
                try:
                    await callback()
                except Exception:
                    logger.exception("resync callback %r failed", callback)

    async def _disconnect(self) -> None:
        await self._pool.disconnect()
        await self._conn.disconnect(nowait=True)
