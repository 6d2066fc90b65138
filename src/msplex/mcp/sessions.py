"""Legacy-era sessions that any replica can serve.

The ``Mcp-Session-Id`` is the session: an AES-GCM token (see
``msplex.crypto``) holding the tenant, the negotiated version, the client's
capabilities and a hash of the credential that opened it. Any replica with
the key decrypts it, so no replica has to remember the session; a tampered
or foreign id fails to decrypt and gets 404, as the spec asks for unknown
sessions.

What a session accumulates after ``initialize`` (log level, ended by DELETE,
streams and pending server-to-client requests) lives in ``SessionLocal``,
per process. Ending a session is recorded there too; sharing it across
replicas is the state backend's job (Redis) and is noted as such.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from msplex.crypto import token_digest

if TYPE_CHECKING:
    from msplex.crypto import Keyring

__all__ = ["MAX_AGE_SECONDS", "LegacySession", "SessionCodec", "SessionLocal", "credential_tag", "tag_of_digest"]

_AAD = b"mcp-session"
IDLE_SECONDS = 24 * 3600.0
MAX_AGE_SECONDS = 7 * 24 * 3600.0
"""A session id is refused this long after it was issued (ended-session records are kept as long)."""


def credential_tag(bearer: str | None) -> str:
    """A short, one-way tag of the credential: binds a session to whoever opened it."""
    return tag_of_digest(token_digest(bearer) if bearer is not None else None)


def tag_of_digest(digest: str | None) -> str:
    """``credential_tag`` from the token's digest, which the edge has already computed."""
    return digest[:16] if digest is not None else "-"


@dataclass(frozen=True, slots=True)
class LegacySession:
    sid: str
    tenant_id: str
    version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any] | None
    credential: str
    issued_at: float


class SessionCodec:
    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._cache: dict[str, LegacySession] = {}

    def issue(
        self,
        tenant_id: str,
        version: str,
        capabilities: dict[str, Any],
        client_info: dict[str, Any] | None,
        credential: str,
    ) -> tuple[str, LegacySession]:
        session = LegacySession(
            sid=secrets.token_hex(8),
            tenant_id=tenant_id,
            version=version,
            capabilities=capabilities,
            client_info=client_info,
            credential=credential,
            issued_at=time.time(),
        )
        payload = orjson.dumps(
            [session.sid, tenant_id, version, capabilities, client_info, credential, int(session.issued_at)]
        )
        token = self._keyring.encrypt(payload, aad=_AAD)
        self._remember(token, session)
        return token, session

    def open(self, token: str) -> LegacySession | None:
        """The session behind ``token``, or ``None`` for anything this gateway did not issue."""
        session = self._cache.get(token)
        if session is not None and session.issued_at >= time.time() - MAX_AGE_SECONDS:
            return session
        if len(token) > 4096:
            return None
        try:
            sid, tenant_id, version, caps, info, credential, issued = orjson.loads(
                self._keyring.decrypt(token, aad=_AAD)
            )
        except Exception:
            return None
        session = LegacySession(sid, tenant_id, version, caps or {}, info, credential, float(issued))
        if session.issued_at < time.time() - MAX_AGE_SECONDS:
            return None
        self._remember(token, session)
        return session

    def _remember(self, token: str, session: LegacySession) -> None:
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[token] = session


@dataclass
class _Local:
    log_level: str | None = "debug"
    streams: set[asyncio.Queue[dict[str, Any] | None]] = field(default_factory=set)
    inflight: dict[Any, asyncio.Task[Any]] = field(default_factory=dict)
    cancelled: set[Any] = field(default_factory=set)
    touched: float = field(default_factory=time.monotonic)


class SessionLocal:
    """Per-process state of legacy sessions: log level, streams, in-flight requests."""

    def __init__(self) -> None:
        self._local: dict[str, _Local] = {}
        self._ended: dict[str, float] = {}
        self.pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._ids = 0

    def get(self, sid: str) -> _Local:
        local = self._local.get(sid)
        if local is None:
            if len(self._local) > 10_000:
                self._sweep()
            local = self._local[sid] = _Local()
        local.touched = time.monotonic()
        return local

    def ended(self, sid: str) -> bool:
        return sid in self._ended

    def end(self, sid: str) -> None:
        self._ended[sid] = time.time()
        local = self._local.pop(sid, None)
        if local is not None:
            for task in local.inflight.values():
                task.cancel()
            for queue in local.streams:
                queue.put_nowait(None)

    def next_request_id(self) -> str:
        self._ids += 1
        return f"msplex-{self._ids}"

    def _sweep(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for sid, local in list(self._local.items()):
            if local.touched < cutoff and not local.streams and not local.inflight:
                del self._local[sid]
