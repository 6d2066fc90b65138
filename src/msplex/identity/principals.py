"""From a request's credential to exactly one principal.

* No credential: anonymous (audience ``public``); whether that is admitted is the
  endpoint's business (``resolve_tenant``).
* ``mspx_...``: a personal access token, looked up by digest in the directory (no
  database round trip); its principal is built once per snapshot and reused.
  Expired or revoked tokens are refused; use is recorded in memory and written to
  the store in batches (``take_used``).
* Anything else shaped like a JWT: verified by the ``OidcResolver`` (the tenant's
  or the deployment's identity provider).

A refusal is ``Unauthenticated`` with a description that names the failed check
(it becomes the 401's ``WWW-Authenticate`` ``error_description``) and never the
credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from msplex.call import ANONYMOUS, Credential, Principal
from msplex.directory import Directory
from msplex.store.tenant import TOKEN_PREFIX

__all__ = ["Identities", "OidcResolver", "Unauthenticated"]


class Unauthenticated(Exception):
    """The credential proves nothing. ``description`` is safe for a ``WWW-Authenticate`` header."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class OidcResolver(Protocol):
    async def principal(self, credential: Credential, tenant_slug: str | None) -> Principal:
        """The principal a JWT proves, for a request on ``tenant_slug`` (``None``: ``/mcp`` or an entity);
        raises ``Unauthenticated``."""


class Identities:
    def __init__(self, directory: Directory, *, clock: Callable[[], float] = time.time) -> None:
        self._directory = directory
        self._clock = clock
        self.oidc: OidcResolver | None = None
        self._principals: dict[str, Principal] = {}
        self._used: dict[str, float] = {}

    def invalidate(self) -> None:
        """The snapshot changed: tokens may be revoked or changed."""
        self._principals = {}

    async def resolve(self, credential: Credential | None, tenant_slug: str | None) -> Principal:
        if credential is None:
            return ANONYMOUS
        if credential.raw.startswith(TOKEN_PREFIX):
            return self._token(credential)
        if self.oidc is None:
            raise Unauthenticated("the bearer token is not a MSPlex token and no identity provider is configured")
        return await self.oidc.principal(credential, tenant_slug)

    def _token(self, credential: Credential) -> Principal:
        digest = credential.digest
        principal = self._principals.get(digest)
        if principal is None:
            entry = self._directory.token(digest)
            if entry is None:
                raise Unauthenticated("the bearer token is unknown or revoked")
            if entry.tenant_id is None:
                principal = Principal("operator", None, entry.token_id, "admin")
            else:
                audience = entry.role if entry.role is not None else "member"
                principal = Principal(
                    "token", entry.tenant_id, entry.token_id, audience, entry.customer_id, entry.tools,
                    expires_at=entry.expires_at,
                )  # fmt: skip
            if len(self._principals) > 50_000:
                self._principals = {}
            self._principals[digest] = principal
        now = self._clock()
        if principal.expires_at is not None and principal.expires_at <= now:
            raise Unauthenticated("the token expired; create a new one")
        self._used[principal.token_id or ""] = now
        return principal

    def still_valid(self, principal: Principal) -> bool:
        """Whether what ``principal`` was proven by still holds: its token unrevoked, its credential unexpired."""
        if principal.expires_at is not None and principal.expires_at <= self._clock():
            return False
        if principal.kind in ("token", "operator"):
            return self._directory.token_live(principal.token_id or "")
        return True

    def take_used(self) -> list[tuple[str, datetime]]:
        """Tokens used since the last call, with when: for the store's ``last used`` column."""
        used, self._used = self._used, {}
        return [(token_id, datetime.fromtimestamp(when, UTC)) for token_id, when in used.items() if token_id]
