"""The credentials the gateway injects toward each upstream, looked up per request.

Sessions hold a ``HeaderSource`` bound to their upstream's key, never the
values, so replacing a credential (a new header value today, a refreshed OAuth
token once the vault lands) takes effect on the next request without
replacing the pooled session. The same values feed redaction: the gateway
never relays them back to a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from msplex.upstream.base import HeaderSource
from msplex.upstream.pool import Key

__all__ = ["CredentialTable"]

_EMPTY: Mapping[str, str] = MappingProxyType({})


class CredentialTable:
    def __init__(self) -> None:
        self._headers: dict[Key, Mapping[str, str]] = {}
        self._secrets: dict[Key, tuple[str, ...]] = {}

    def replace(self, key: Key, headers: Mapping[str, str], env: Mapping[str, str] | None = None) -> None:
        self._headers[key] = MappingProxyType(dict(headers))
        values = {*headers.values(), *(env or {}).values()}
        self._secrets[key] = tuple(sorted(values, key=len, reverse=True))

    def retain(self, keys: set[Key]) -> None:
        for key in set(self._headers) - keys:
            del self._headers[key]
            self._secrets.pop(key, None)

    def source(self, key: Key) -> HeaderSource:
        async def headers() -> Mapping[str, str]:
            return self._headers.get(key, _EMPTY)

        return headers

    def secrets(self, key: Key) -> tuple[str, ...]:
        """Every secret value injected toward ``key``, longest first."""
        return self._secrets.get(key, ())
