"""Per-request credentials for a connector instance, from its vault secrets (``Auth`` of the framework).

Static kinds (an API key header, Basic plus a client id header) just build headers. OAuth kinds
hold an access token until ``LEEWAY`` seconds before it expires, then renew it once for every
concurrent caller: in this process one task does the work and the others await it; across
replicas the renewal runs under the state seam's lock ``vault:token:{tenant}:{instance}`` and
first re-reads the token store, so a token another replica just got is used, and a rotating
refresh token is spent exactly once (the new one is saved before the lock is released). A
failed renewal raises ``NotReady`` (the instance reports it) and the next call tries again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx

from msplex.connectors.framework.errors import NotReady
from msplex.connectors.framework.spec import (
    ApiKeyHeader,
    AuthorizationCode,
    BasicWithClientId,
    ClientCredentials,
    InstanceConfig,
    Vendor,
)
from msplex.state import LockTimeout, SharedState
from msplex.vault.oauth import TokenEndpoint

__all__ = ["LEEWAY", "MemoryTokens", "OAuthAuth", "StaticAuth", "TokenStore", "build_auth"]

log = logging.getLogger("msplex.vault")

LEEWAY = 60.0
"""Seconds before expiry at which a token is renewed rather than sent."""
LOCK_TTL = 60.0


class TokenStore(Protocol):
    """Where an instance's current token lives between calls and replicas (sealed in the database)."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, token: dict[str, Any]) -> None: ...


class MemoryTokens:
    def __init__(self, token: dict[str, Any] | None = None) -> None:
        self.token = token

    async def load(self) -> dict[str, Any] | None:
        return dict(self.token) if self.token else None

    async def save(self, token: dict[str, Any]) -> None:
        self.token = dict(token)


class StaticAuth:
    """Headers that never change (API key, Basic): a 401 means the secret is wrong, not stale."""

    def __init__(self, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
        self._headers = dict(headers)
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    async def headers(self) -> Mapping[str, str]:
        return self._headers

    async def rejected(self, sent: Mapping[str, str]) -> bool:
        return False

    def secrets(self) -> Sequence[str]:
        return self._secrets


def _fresh(token: Mapping[str, Any] | None, leeway: float = LEEWAY) -> bool:
    if not token or not token.get("access_token"):
        return False
    expires = token.get("expires_at")
    return expires is None or float(expires) - leeway > time.time()


class OAuthAuth:
    def __init__(
        self,
        endpoint: TokenEndpoint,
        store: TokenStore,
        *,
        scope: str | None,
        grant: str,
        lock_key: str,
        state: SharedState | None = None,
        leeway: float = LEEWAY,
    ) -> None:
        self._endpoint = endpoint
        self._store = store
        self._scope = scope
        self._grant = grant
        """``client_credentials``, or ``refresh_token`` (an authorization-code grant already made)."""
        self._lock_key = lock_key
        self._state = state
        self._leeway = leeway
        self._token: dict[str, Any] | None = None
        self._renewing: asyncio.Task[dict[str, Any]] | None = None
        self._loaded = False

    async def headers(self) -> Mapping[str, str]:
        token = self._token
        if not self._loaded:
            self._loaded = True
            token = self._token = await self._store.load()
        if not _fresh(token, self._leeway):
            token = await self._renew(token)
        assert token is not None
        return {"Authorization": f"{_token_type(token)} {token['access_token']}"}

    async def rejected(self, sent: Mapping[str, str]) -> bool:
        token = self._token
        if token is not None and sent.get("Authorization", "").endswith(f" {token['access_token']}"):
            await self._renew(token, forced=True)
        return True

    def secrets(self) -> Sequence[str]:
        values = [*self._endpoint.secrets()]
        if self._token is not None:
            values += [str(self._token.get("access_token") or ""), str(self._token.get("refresh_token") or "")]
        return tuple(sorted({v for v in values if v}, key=len, reverse=True))

    async def _renew(self, stale: dict[str, Any] | None, *, forced: bool = False) -> dict[str, Any]:
        task = self._renewing
        if task is None or task.done():
            task = self._renewing = asyncio.get_running_loop().create_task(self._renew_once(stale, forced))
        return await asyncio.shield(task)

    async def _renew_once(self, stale: dict[str, Any] | None, forced: bool) -> dict[str, Any]:
        if self._state is None:
            return await self._renew_locked(stale, forced)
        try:
            async with self._state.lock(self._lock_key, ttl=LOCK_TTL, wait=LOCK_TTL):
                return await self._renew_locked(stale, forced)
        except LockTimeout:
            raise NotReady("another replica holds the token renewal lock for too long; retry shortly") from None

    async def _renew_locked(self, stale: dict[str, Any] | None, forced: bool) -> dict[str, Any]:
        stored = await self._store.load()
        stale_access = (stale or {}).get("access_token")
        if stored and _fresh(stored, self._leeway) and (not forced or stored.get("access_token") != stale_access):
            self._token = stored  # another replica (or an earlier call) renewed it already
            return stored
        if self._grant == "refresh_token":
            refresh = (stored or stale or {}).get("refresh_token")
            if not refresh:
                raise NotReady("the connector has no refresh token; authorize it again")
            token = await self._endpoint.refresh(str(refresh), self._scope)
            token.setdefault("refresh_token", refresh)  # not rotated: keep using it
        else:
            token = await self._endpoint.client_credentials(self._scope)
        await self._store.save(token)
        self._token = token
        return token


def _token_type(token: Mapping[str, Any]) -> str:
    kind = str(token.get("token_type") or "Bearer")
    return "Bearer" if kind.lower() == "bearer" else kind


def build_auth(
    vendor: Vendor,
    config: InstanceConfig,
    secrets: Mapping[str, str],
    client: httpx.AsyncClient,
    *,
    tokens: TokenStore | None = None,
    state: SharedState | None = None,
    lock_key: str = "",
    fix: str = "",
) -> StaticAuth | OAuthAuth:
    """The ``Auth`` of one instance: ``secrets`` are its vault values by ``Flag.field``."""
    kind = vendor.credential
    if isinstance(kind, ApiKeyHeader):
        key = secrets.get(kind.secret, "")
        return StaticAuth({kind.header: key}, [key])
    if isinstance(kind, BasicWithClientId):
        settings = {**config.settings, **secrets}
        user = f"{settings.get(kind.company, '')}+{settings.get(kind.public, '')}"
        private = settings.get(kind.private, "")
        basic = base64.b64encode(f"{user}:{private}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", kind.client_id_header: settings.get(kind.client_id, "")}
        return StaticAuth(headers, [private, basic])
    settings = {**config.settings, **secrets}
    store = tokens or MemoryTokens()
    key = lock_key or f"vault:token:{vendor.kind}:{config.base_url}"
    if isinstance(kind, ClientCredentials):
        endpoint = TokenEndpoint(
            client,
            config.token_url or kind.token_url(config),
            settings.get(kind.client_id, ""),
            secrets.get(kind.client_secret),
            vendor=vendor.title,
            fix=fix,
            auth_method=kind.auth_method,
            body=kind.body,
            query=kind.query(config),
            extra=kind.extra(config),
        )
        return OAuthAuth(
            endpoint, store, scope=kind.scope(config), grant="client_credentials", lock_key=key, state=state
        )
    assert isinstance(kind, AuthorizationCode)
    endpoint = TokenEndpoint(
        client,
        config.token_url or kind.token_url(config),
        settings.get(kind.client_id, ""),
        secrets.get(kind.client_secret) if kind.client_secret else None,
        vendor=vendor.title,
        fix=fix,
    )
    return OAuthAuth(endpoint, store, scope=kind.scope, grant="refresh_token", lock_key=key, state=state)
