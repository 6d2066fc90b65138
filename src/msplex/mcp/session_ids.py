"""Legacy-era session ids that any replica can open.

The ``Mcp-Session-Id`` is the session: an AES-GCM token (``msplex.crypto``)
holding the tenant, the negotiated version, the client's capabilities and the
key of the principal that opened it (not its credential's bytes, so a
refreshed access token keeps its session). Any replica with the key decrypts
it, so no replica has to remember the session; a tampered or foreign id fails
to decrypt and gets 404, as the spec asks for unknown sessions. What a session
accumulates after ``initialize`` lives in ``session_state``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from msplex.crypto import Keyring

__all__ = ["MAX_AGE_SECONDS", "LegacySession", "SessionCodec"]

_AAD = b"mcp-session/2"
MAX_AGE_SECONDS = 7 * 24 * 3600.0
"""A session id is refused this long after it was issued (ended-session records are kept as long)."""
_CACHE_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class LegacySession:
    sid: str
    tenant_id: str
    version: str
    capabilities: dict[str, Any]
    client_info: dict[str, Any] | None
    principal: str
    """``msplex.call.Principal.key`` of whoever opened it: only they may use it."""
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
        principal: str,
    ) -> tuple[str, LegacySession]:
        session = LegacySession(
            sid=secrets.token_hex(8),
            tenant_id=tenant_id,
            version=version,
            capabilities=capabilities,
            client_info=client_info,
            principal=principal,
            issued_at=time.time(),
        )
        payload = orjson.dumps(
            [session.sid, tenant_id, version, capabilities, client_info, principal, int(session.issued_at)]
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
            sid, tenant_id, version, caps, info, principal, issued = orjson.loads(
                self._keyring.decrypt(token, aad=_AAD)
            )
        except Exception:
            return None
        session = LegacySession(sid, tenant_id, version, caps or {}, info, principal, float(issued))
        if session.issued_at < time.time() - MAX_AGE_SECONDS:
            return None
        self._remember(token, session)
        return session

    def _remember(self, token: str, session: LegacySession) -> None:
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = session
