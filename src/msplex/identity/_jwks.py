"""The provider's signing keys: which JWKS entries are usable, and how they are fetched, cached and refreshed.

A key is usable when it is a public signing key of an asymmetric type that
fits at least one accepted algorithm (``ALGORITHMS``): symmetric (``oct``) keys,
encryption keys (``use: enc``), keys carrying private material, RSA keys under
2048 bits and keys whose ``alg`` is not accepted are ignored, each with the
reason, so ``diagnose`` can name them. Each usable key is bound to every
algorithm it may verify (its own ``alg`` if it states one, else every accepted
algorithm of its type and curve), and PyJWT refuses a token whose ``alg`` is
not the one the key was bound to: the key type always fits the algorithm.

``JwksSource`` keeps the current ``KeySet``. Invariants: at most one fetch per
``min_refresh`` seconds, whatever asks for it (a flood of tokens naming
unknown kids, a down provider); concurrent askers share the one fetch under
way; a fetch is bounded by ``timeout`` in total; a failed fetch keeps the keys
already held, which stay usable until ``STALE_GRACE`` past their max age.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import ipaddress
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK

from msplex.identity._token import shown

__all__ = [
    "ALGORITHMS",
    "DEFAULT_MAX_AGE",
    "STALE_GRACE",
    "FetchError",
    "Fetched",
    "JwksSource",
    "KeySet",
    "SigningKey",
    "discovery_url",
    "fetch_json",
    "jwks_uri_of",
    "parse_jwks",
    "url_problem",
]

log = logging.getLogger("msplex.identity")

_RSA_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_ALGORITHMS: Final = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_OKP_CURVES: Final = frozenset({"Ed25519", "Ed448"})
ALGORITHMS: Final[frozenset[str]] = frozenset({*_RSA_ALGORITHMS, *_EC_ALGORITHMS.values(), "EdDSA"})
"""The accepted JWS algorithms: asymmetric only. Never ``none``, never HMAC (a public key must not become a secret)."""

_THUMBPRINT_MEMBERS: Final = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
_PRIVATE_MEMBERS: Final = ("d", "p", "q", "dp", "dq", "qi", "oth")
MIN_RSA_BITS: Final = 2048
MAX_DOCUMENT: Final = 1 << 20
"""Bytes read at most from a discovery document or a JWKS."""
DEFAULT_MAX_AGE: Final = 3600.0
MAX_AGE_BOUNDS: Final = (300.0, 86_400.0)
"""A ``Cache-Control: max-age`` is obeyed within these bounds (seconds)."""
STALE_GRACE: Final = 3600.0
"""How long past its max age a key set is still used while re-fetching it fails."""
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One usable public key of the provider, bound to each algorithm it may verify."""

    kid: str | None
    kty: str
    curve: str | None
    thumbprint: str
    """RFC 7638 thumbprint: identifies the key material across fetches."""
    verifiers: Mapping[str, PyJWK]

    def describe(self) -> str:
        kind = f"{self.kty} {self.curve}" if self.curve else self.kty
        name = shown(self.kid) if self.kid is not None else "(no kid)"
        return f"{name} ({kind}: {', '.join(self.verifiers)})"


@dataclass(frozen=True, slots=True)
class KeySet:
    """The usable keys of one fetched JWKS, the entries it ignored (with why), and when it goes stale."""

    keys: tuple[SigningKey, ...]
    ignored: tuple[str, ...]
    source: str
    fetched_at: float
    max_age: float
    ignored_kids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Why the JWKS entry with this kid is not usable, for the entries that have a kid."""
    by_kid: Mapping[str, tuple[SigningKey, ...]] = field(init=False)

    def __post_init__(self) -> None:
        by_kid: dict[str, tuple[SigningKey, ...]] = {}
        for key in self.keys:
            if key.kid is not None:
                by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        object.__setattr__(self, "by_kid", MappingProxyType(by_kid))

    def describe(self) -> str:
        usable = "; ".join(key.describe() for key in self.keys) or "none"
        text = f"{len(self.keys)} usable key(s): {usable}"
        return f"{text}; ignored: {'; '.join(self.ignored)}" if self.ignored else text


class FetchError(Exception):
    """A document could not be fetched or is not what it should be. ``detail`` is for operators: it names the URL."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched JSON document with what its response said about caching and the server's clock."""

    url: str
    document: Any
    max_age: float | None
    """``Cache-Control: max-age`` clamped to ``MAX_AGE_BOUNDS`` (``no-cache``/``no-store`` = the lower bound)."""
    server_date: float | None
    """The response's ``Date`` header as a POSIX timestamp, to estimate clock skew."""


def _usable(entry: Any) -> SigningKey | str:
    """The entry as a usable key, or why it is not one."""
    if not isinstance(entry, dict):
        return f"an entry that is {shown(entry)}, not a JSON object"
    kid = entry.get("kid")
    name = f"key {shown(kid)}" if kid is not None else "a key without kid"
    if kid is not None and not isinstance(kid, str):
        return f"{name}: kid is not a string"
    kty, curve, alg = entry.get("kty"), entry.get("crv"), entry.get("alg")
    if entry.get("use", "sig") != "sig":
        return f"{name}: use {shown(entry.get('use'))}, not a signing key"
    ops = entry.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return f"{name}: key_ops does not include verify"
    if any(member in entry for member in _PRIVATE_MEMBERS):
        return f"{name}: contains private key material; a JWKS must publish public keys only"
    if kty == "RSA":
        fitting: tuple[str, ...] = _RSA_ALGORITHMS
    elif kty == "EC" and curve in _EC_ALGORITHMS:
        fitting = (_EC_ALGORITHMS[curve],)
    elif kty == "OKP" and curve in _OKP_CURVES:
        fitting = ("EdDSA",)
    elif kty == "oct":
        return f"{name}: a symmetric (oct) key; HMAC is not accepted"
    else:
        return f"{name}: key type {shown(kty)} curve {shown(curve)} is not supported"
    if alg is not None:
        if alg not in fitting:
            return f"{name}: alg {shown(alg)} is not accepted for a {kty} key (accepted: {', '.join(fitting)})"
        fitting = (alg,)
    try:
        verifiers = {algorithm: PyJWK(dict(entry), algorithm) for algorithm in fitting}
    except Exception as exc:  # whatever the library makes of bad key material, the key is unusable
        return f"{name}: unusable {kty} key material ({type(exc).__name__})"
    material = next(iter(verifiers.values())).key
    if isinstance(material, RSAPublicKey) and material.key_size < MIN_RSA_BITS:
        return f"{name}: RSA key of {material.key_size} bits, under {MIN_RSA_BITS}"
    canonical = json.dumps({m: entry.get(m) for m in _THUMBPRINT_MEMBERS[kty]}, separators=(",", ":"), sort_keys=True)
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    return SigningKey(kid, kty, curve if kty != "RSA" else None, thumbprint, MappingProxyType(verifiers))


def parse_jwks(document: Any, *, source: str, fetched_at: float, max_age: float) -> KeySet:
    """The usable keys of a JWKS document (possibly none), or ``FetchError`` if it is not a JWKS at all."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise FetchError(f"{source} is not a JWKS (no keys array)")
    keys: list[SigningKey] = []
    ignored: list[str] = []
    ignored_kids: dict[str, str] = {}
    for entry in entries:
        usable = _usable(entry)
        if isinstance(usable, str):
            ignored.append(usable)
            kid = entry.get("kid") if isinstance(entry, dict) else None
            if isinstance(kid, str):
                ignored_kids.setdefault(kid, usable)
        else:
            keys.append(usable)
    return KeySet(tuple(keys), tuple(ignored), source, fetched_at, max_age, MappingProxyType(ignored_kids))


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why ``url`` may not be fetched for keys, or ``None``: HTTPS is required, except to a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"{shown(url)} is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return f"{shown(url)} is not an http(s) URL"
    if parts.scheme == "https" or allow_http or host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return f"{shown(url)} is plain HTTP; keys must come over HTTPS (or set allow_http for a trusted network)"


def discovery_url(issuer: str) -> str:
    """Where OpenID Connect Discovery 1.0 puts the issuer's provider metadata."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def jwks_uri_of(fetched: Fetched, *, issuer: str, allow_http: bool) -> str:
    """The ``jwks_uri`` of a discovery document whose ``issuer`` is exactly ``issuer`` (Discovery §4.3)."""
    document = fetched.document
    if not isinstance(document, dict):
        raise FetchError(f"{fetched.url} is not a JSON object")
    if document.get("issuer") != issuer:
        raise FetchError(
            f"{fetched.url} names issuer {shown(document.get('issuer'), 200)}, not the configured {shown(issuer, 200)}"
        )
    uri = document.get("jwks_uri")
    if not isinstance(uri, str):
        raise FetchError(f"{fetched.url} has no jwks_uri")
    problem = url_problem(uri, allow_http=allow_http)
    if problem is not None:
        raise FetchError(f"jwks_uri of {fetched.url}: {problem}")
    return uri


def _max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    low, high = MAX_AGE_BOUNDS
    if "no-store" in cache_control.lower() or "no-cache" in cache_control.lower():
        return low
    match = _MAX_AGE.search(cache_control)
    return min(max(float(match.group(1)), low), high) if match else None


def _date(value: str | None) -> float | None:
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError):
        return None


async def fetch_json(http: httpx.AsyncClient, url: str, *, within: float) -> Fetched:
    """GET ``url`` as JSON within ``within`` seconds in total, reading at most ``MAX_DOCUMENT`` bytes.

    Redirects are not followed: a key source answers itself. Raises ``FetchError``.
    """
    body = bytearray()
    try:
        async with asyncio.timeout(within):
            request = http.stream(
                "GET", url, headers={"Accept": "application/json"}, timeout=within, follow_redirects=False
            )
            async with request as response:
                if response.status_code != 200:
                    raise FetchError(f"{url} answered HTTP {response.status_code}")
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT:
                        raise FetchError(f"{url} sent more than {MAX_DOCUMENT} bytes")
                headers = response.headers
    except (TimeoutError, httpx.TimeoutException):
        raise FetchError(f"{url} did not answer within {within:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url} could not be fetched ({type(exc).__name__}: {exc})") from None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise FetchError(f"{url} did not send JSON") from None
    return Fetched(url, document, _max_age(headers.get("cache-control")), _date(headers.get("date")))


class JwksSource:
    """The current key set of one provider: fetched on first need, re-fetched when stale or asked to.

    ``current()`` is for every verification (a fetch only when there is no key
    set or it is past its max age); ``refreshed(seen)`` is for a token naming a
    kid that ``seen`` lacks. Both honour the ``min_refresh`` rate limit and
    share the fetch under way.
    """

    __slots__ = (
        "_allow_http",
        "_clock",
        "_discovered",
        "_http",
        "_inflight",
        "_issuer",
        "_jwks_url",
        "_keys",
        "_last_attempt",
        "_last_error",
        "_min_refresh",
        "_timeout",
    )

    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str | None,
        allow_http: bool,
        http: httpx.AsyncClient,
        clock: Callable[[], float],
        min_refresh: float,
        timeout: float,
    ) -> None:
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._allow_http = allow_http
        self._http = http
        self._clock = clock
        self._min_refresh = min_refresh
        self._timeout = timeout
        self._keys: KeySet | None = None
        self._discovered: str | None = None
        self._inflight: asyncio.Future[None] | None = None
        self._last_attempt = -math.inf
        self._last_error = "no fetch has completed yet"

    @property
    def keys(self) -> KeySet | None:
        return self._keys

    async def current(self) -> KeySet:
        """A key set not older than its max age (plus ``STALE_GRACE`` while re-fetching fails).

        Raises ``FetchError`` with the last failure when there is none.
        """
        keys = self._keys
        if keys is not None and self._clock() - keys.fetched_at < keys.max_age:
            return keys
        await self._attempt()
        keys = self._keys
        if keys is None or self._clock() - keys.fetched_at >= keys.max_age + STALE_GRACE:
            raise FetchError(self._last_error)
        return keys

    async def refreshed(self, seen: KeySet) -> KeySet:
        """After a token named a key ``seen`` lacks: the key set fetched since, fetching now if the limit allows."""
        if self._keys is seen:
            await self._attempt()
        return self._keys or seen

    async def _attempt(self) -> None:
        """Join the fetch under way, else start one unless one started within ``min_refresh``."""
        if self._inflight is None:
            if self._clock() - self._last_attempt < self._min_refresh:
                return
            self._last_attempt = self._clock()
            self._inflight = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._inflight)

    async def _fetch(self) -> None:
        """One fetch (discovery first when needed); installs the keys or records why not. Never raises."""
        try:
            async with asyncio.timeout(self._timeout):
                url = await self._jwks_location()
                fetched = await fetch_json(self._http, url, within=self._timeout)
            max_age = fetched.max_age if fetched.max_age is not None else DEFAULT_MAX_AGE
            keys = parse_jwks(fetched.document, source=url, fetched_at=self._clock(), max_age=max_age)
            if not keys.keys:
                raise FetchError(f"{url} holds no usable signing key; {keys.describe()}")
            self._keys = keys
        except (FetchError, TimeoutError) as exc:
            self._fail(exc.detail if isinstance(exc, FetchError) else f"fetching keys took over {self._timeout:g} s")
        except Exception as exc:  # a bug must fail closed (no keys) rather than escape into every verification
            log.exception("OIDC issuer %s: unexpected error fetching keys", self._issuer)
            self._fail(f"unexpected error fetching keys ({type(exc).__name__})")
        finally:
            self._inflight = None

    def _fail(self, detail: str) -> None:
        self._last_error = detail
        self._discovered = None
        log.warning("OIDC issuer %s: signing keys not refreshed: %s", self._issuer, detail)

    async def _jwks_location(self) -> str:
        if self._jwks_url is not None:
            return self._jwks_url
        if self._discovered is None:
            fetched = await fetch_json(self._http, discovery_url(self._issuer), within=self._timeout)
            self._discovered = jwks_uri_of(fetched, issuer=self._issuer, allow_http=self._allow_http)
        return self._discovered
