"""Bearer JWTs from an MSP's OpenID Connect provider: verified, mapped to an MSPlex identity, cached.

``OidcVerifier.verify`` accepts a token only if every check passes, in this
order (each failure is an ``InvalidToken`` naming its check):

1. ``malformed``: a compact JWS of at most 16 KiB with JSON header and claims;
2. ``algorithm``: the header ``alg`` is on the provider's allow-list, which only
   admits asymmetric algorithms (never ``none``, never HMAC);
3. ``issuer``, ``audience``, ``expired``, ``not_yet_valid``,
   ``issued_in_future``, ``claims``: the claims, with ``leeway`` for clock skew,
   and their mapping to a role, tenant and customer;
4. ``jwks_unavailable``, ``kid``: a key with the header's kid in the provider's
   JWKS (re-fetched once, within the rate limit, when the kid is unknown; a
   token without kid only when the JWKS holds exactly one usable key), whose
   type fits the algorithm;
5. ``signature``: PyJWT verifies the signature with that key, bound to that algorithm.

Claims are checked before the signature on purpose: those checks can only
refuse, never accept, and refusing a token for another issuer or audience, or
an expired one, costs no JWKS fetch and no signature verification.

A verified token's verdict is remembered, keyed by the token's digest, until
its expiry (plus leeway, as uncached verification would), so the hot path pays
one dictionary lookup and one clock comparison (and the token's SHA-256, unless
it comes as a ``Credential`` that already holds it). The cache is an LRU of
``cache_size`` entries; a verdict is also dropped once a later fetch of the
JWKS no longer lists the key that verified it (noticed at the next uncached
verification).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import httpx

from msplex.call import Credential
from msplex.crypto import token_digest
from msplex.identity._checks import (
    ROLES,
    Role,
    VerifiedToken,
    check_claims,
    check_header,
    check_signature,
    select_key,
    unavailable,
    unknown_kid,
)
from msplex.identity._diagnose import Finding, diagnose
from msplex.identity._jwks import ALGORITHMS, FetchError, JwksSource, KeySet, SigningKey, url_problem
from msplex.identity._token import CHECKS, Check, InvalidToken, looks_like_jwt, parse, unverified_issuer

__all__ = [
    "ALGORITHMS",
    "CHECKS",
    "ROLES",
    "Check",
    "Finding",
    "InvalidToken",
    "OidcProvider",
    "OidcVerifier",
    "Role",
    "VerifiedToken",
    "diagnose",
    "looks_like_jwt",
    "unverified_issuer",
]

_MAX_LEEWAY: Final = 300.0


def _no_roles() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """One trusted identity provider, and how its tokens' claims become an MSPlex identity.

    Keys come from ``jwks_url`` when set, else from the ``jwks_uri`` of the
    issuer's discovery document (whose ``issuer`` must equal ``issuer``
    exactly). Key URLs must be HTTPS unless they point at a loopback host or
    ``allow_http`` is set. ``role_map`` maps a provider role or group to
    ``admin``, ``member`` or ``customer``; those three names map to themselves
    unless ``role_map`` says otherwise. ``algorithms`` may narrow (never widen)
    ``ALGORITHMS``. Invalid settings raise ``ValueError`` at construction.
    """

    issuer: str
    audience: str
    jwks_url: str | None = None
    tenant_claim: str = "msplex_tenant"
    customer_claim: str = "msplex_customer"
    roles_claim: str = "roles"
    role_map: Mapping[str, str] = field(default_factory=_no_roles, hash=False)
    leeway: float = 60.0
    algorithms: frozenset[str] = ALGORITHMS
    allow_http: bool = False

    def __post_init__(self) -> None:
        for name, url in (("issuer", self.issuer), ("jwks_url", self.jwks_url)):
            problem = url_problem(url, allow_http=self.allow_http) if url is not None else None
            if problem is not None:
                raise ValueError(f"OIDC {name}: {problem}")
        if not self.audience:
            raise ValueError("OIDC audience must not be empty")
        if not self.tenant_claim or not self.customer_claim or not self.roles_claim:
            raise ValueError("OIDC claim names must not be empty")
        if not 0 <= self.leeway <= _MAX_LEEWAY:
            raise ValueError(f"OIDC leeway must be between 0 and {_MAX_LEEWAY:g} seconds")
        algorithms = frozenset(self.algorithms)
        if not algorithms or not algorithms <= ALGORITHMS:
            raise ValueError(f"OIDC algorithms must be a non-empty subset of {', '.join(sorted(ALGORITHMS))}")
        role_map = dict(self.role_map)
        unknown = sorted({role for role in role_map.values() if role not in ROLES})
        if unknown:
            raise ValueError(f"OIDC role_map maps to {', '.join(unknown)}; roles are admin, member and customer")
        object.__setattr__(self, "algorithms", algorithms)
        object.__setattr__(self, "role_map", MappingProxyType(role_map))


_Verdict = tuple[VerifiedToken, float, str]
"""A remembered verdict: the identity, when it stops being valid (exp + leeway), the thumbprint of its key."""


class OidcVerifier:
    """Verifies bearer JWTs of one ``OidcProvider``; one instance per provider per process.

    ``clock`` gives POSIX seconds (for the time claims and for the key cache's
    ages); ``min_refresh`` is the least time between two JWKS fetches;
    ``timeout`` bounds one fetch (discovery and JWKS together); ``cache_size``
    bounds the verdict cache. Not thread-safe: use it from one event loop.
    """

    __slots__ = ("_cache_size", "_clock", "_keys_seen", "_provider", "_source", "_verdicts")

    def __init__(
        self,
        provider: OidcProvider,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        min_refresh: float = 30.0,
        timeout: float = 5.0,
        cache_size: int = 10_000,
    ) -> None:
        self._provider = provider
        self._clock = clock
        self._cache_size = cache_size
        self._source = JwksSource(
            issuer=provider.issuer,
            jwks_url=provider.jwks_url,
            allow_http=provider.allow_http,
            http=http,
            clock=clock,
            min_refresh=min_refresh,
            timeout=timeout,
        )
        self._verdicts: OrderedDict[str, _Verdict] = OrderedDict()
        self._keys_seen: KeySet | None = None

    @property
    def provider(self) -> OidcProvider:
        return self._provider

    async def verify(self, token: str | Credential) -> VerifiedToken:
        """The identity ``token`` speaks for, or ``InvalidToken``. A ``Credential`` saves hashing the token again."""
        if isinstance(token, Credential):
            raw, digest = token.raw, token.digest
        else:
            raw, digest = token, token_digest(token)
        remembered = self._verdicts.get(digest)
        if remembered is not None:
            if self._clock() < remembered[1]:
                self._verdicts.move_to_end(digest)
                return remembered[0]
            del self._verdicts[digest]
        verdict, key = await self._verify(raw)
        self._verdicts[digest] = (verdict, verdict.expires_at + self._provider.leeway, key.thumbprint)
        if len(self._verdicts) > self._cache_size:
            self._verdicts.popitem(last=False)
        return verdict

    async def _verify(self, token: str) -> tuple[VerifiedToken, SigningKey]:
        provider = self._provider
        header, claims = parse(token)
        alg, kid = check_header(header, provider)
        verdict = check_claims(claims, provider, self._clock())
        try:
            keys = self._observe(await self._source.current())
        except FetchError:
            raise unavailable(provider) from None
        key = select_key(keys, kid, alg)
        if key is None:
            keys = self._observe(await self._source.refreshed(keys))
            key = select_key(keys, kid, alg)
            if key is None:
                raise unknown_kid(kid, keys)
        check_signature(token, key, alg)
        return verdict, key

    def _observe(self, keys: KeySet) -> KeySet:
        """Note a key set; verdicts of keys it no longer lists are forgotten."""
        previous, self._keys_seen = self._keys_seen, keys
        if previous is not None and previous is not keys:
            gone = {key.thumbprint for key in previous.keys} - {key.thumbprint for key in keys.keys}
            if gone:
                for digest in [d for d, (_, _, thumbprint) in self._verdicts.items() if thumbprint in gone]:
                    del self._verdicts[digest]
        return keys
