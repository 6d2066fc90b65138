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
one dictionary lookup and one clock comparison. The cache is an LRU of
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
from typing import Any, Final, Literal

import httpx
from jwt import InvalidAlgorithmError, InvalidSignatureError, PyJWS, PyJWTError

from msplex.call import Credential
from msplex.crypto import token_digest
from msplex.identity._jwks import (
    ALGORITHMS,
    DEFAULT_MAX_AGE,
    Fetched,
    FetchError,
    JwksSource,
    KeySet,
    SigningKey,
    discovery_url,
    fetch_json,
    jwks_uri_of,
    parse_jwks,
    url_problem,
)
from msplex.identity._token import (
    CHECKS,
    Check,
    InvalidToken,
    claim_at,
    iso,
    looks_like_jwt,
    numeric_claim,
    parse,
    safe,
    shown,
    unverified_issuer,
)

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

Role = Literal["admin", "member", "customer"]
ROLES: Final[frozenset[str]] = frozenset({"admin", "member", "customer"})
_MAX_LEEWAY: Final = 300.0
_JWS: Final = PyJWS(algorithms=sorted(ALGORITHMS))


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


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """Who a verified token speaks for.

    Invariant: ``role == "customer"`` exactly when ``customer`` is set; a token
    with a customer claim is that customer's, whatever roles it also claims.
    ``claims`` is a read-only view of all the token's claims.
    """

    issuer: str
    subject: str
    expires_at: float
    role: Role
    tenant: str | None
    customer: str | None
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of ``diagnose``: what was checked (``check``) and what was found, in words for an operator."""

    ok: bool
    check: str
    message: str


def _check_header(header: Mapping[str, Any], provider: OidcProvider) -> tuple[str, str | None]:
    """The token's ``alg`` (accepted by ``provider``) and ``kid``."""
    alg: str = header["alg"]
    if alg not in provider.algorithms:
        if alg.lower() == "none":
            why = "unsigned tokens (alg none) are not accepted"
        elif alg.upper().startswith("HS"):
            why = f"the symmetric alg {shown(alg)} is not accepted, only asymmetric signatures are"
        else:
            why = f"alg {shown(alg)} is not accepted"
        raise InvalidToken("algorithm", f"{why} (accepted: {', '.join(sorted(provider.algorithms))})")
    return alg, header.get("kid")


def _audiences(claims: Mapping[str, Any], expected: str) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        raise InvalidToken("audience", f"the token has no aud claim; expected {shown(expected, 200)}")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(value, str) for value in aud):
        return aud
    raise InvalidToken("audience", f"the aud claim is {shown(aud)}, not a string or a list of strings")


def _seen(values: list[str]) -> str:
    listed = ", ".join(shown(value, 48) for value in values[:4])
    return (listed + (f" and {len(values) - 4} more" if len(values) > 4 else "")) or "none"


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> float:
    """The token's ``exp`` once ``exp``, ``nbf`` and ``iat`` agree with ``now`` give or take ``leeway``."""
    exp = numeric_claim(claims, "exp", required=True)
    assert exp is not None
    if exp <= now - leeway:
        raise InvalidToken("expired", f"the token expired at {iso(exp)}, {now - exp:.0f} s ago (leeway {leeway:g} s)")
    nbf = numeric_claim(claims, "nbf", required=False)
    if nbf is not None and nbf > now + leeway:
        raise InvalidToken(
            "not_yet_valid",
            f"the token is valid from {iso(nbf)}, {nbf - now:.0f} s from now (leeway {leeway:g} s); "
            "the clocks of this host and the identity provider may disagree",
        )
    iat = numeric_claim(claims, "iat", required=False)
    if iat is not None and iat > now + leeway:
        raise InvalidToken(
            "issued_in_future",
            f"the token was issued at {iso(iat)}, {iat - now:.0f} s in the future (leeway {leeway:g} s); "
            "the clocks of this host and the identity provider may disagree",
        )
    return exp


def _name_claim(claims: Mapping[str, Any], path: str) -> str | None:
    value = claim_at(claims, path)
    if value is None or (isinstance(value, str) and value):
        return value
    raise InvalidToken("claims", f"the {shown(path)} claim is {shown(value)}, not a non-empty string")


def _identity(claims: Mapping[str, Any], provider: OidcProvider) -> tuple[Role, str | None, str | None]:
    """Role, tenant slug and customer slug. An unknown role value grants nothing; no known role means member."""
    tenant = _name_claim(claims, provider.tenant_claim)
    customer = _name_claim(claims, provider.customer_claim)
    raw = claim_at(claims, provider.roles_claim)
    if raw is None:
        values: list[str] = []
    elif isinstance(raw, str):
        values = [raw]
    elif isinstance(raw, list) and all(isinstance(value, str) for value in raw):
        values = raw
    else:
        raise InvalidToken(
            "claims", f"the {shown(provider.roles_claim)} claim is {shown(raw)}, not a string or a list of strings"
        )
    role_map = provider.role_map
    roles = {role_map.get(value, value) for value in values}
    if customer is not None:
        return "customer", tenant, customer
    if "admin" in roles:
        return "admin", tenant, None
    if "customer" in roles and "member" not in roles:
        raise InvalidToken(
            "claims", f"the token's role is customer but it has no {shown(provider.customer_claim)} claim naming one"
        )
    return "member", tenant, None


def _check_claims(claims: dict[str, Any], provider: OidcProvider, now: float) -> VerifiedToken:
    """The identity the claims describe, once every claim check passes; the signature is not looked at."""
    issuer = claims.get("iss")
    if issuer != provider.issuer:
        seen = f"is {shown(issuer, 200)}" if issuer is not None else "is missing"
        raise InvalidToken("issuer", f"the token's iss {seen}; expected {shown(provider.issuer, 200)}")
    audiences = _audiences(claims, provider.audience)
    if provider.audience not in audiences:
        raise InvalidToken(
            "audience", f"the token is for audience {_seen(audiences)}; expected {shown(provider.audience, 200)}"
        )
    exp = _check_times(claims, now, provider.leeway)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("claims", f"the sub claim is {shown(subject)}, not a non-empty string")
    role, tenant, customer = _identity(claims, provider)
    return VerifiedToken(provider.issuer, subject, exp, role, tenant, customer, MappingProxyType(claims))


def _select(keys: KeySet, kid: str | None, alg: str) -> SigningKey | None:
    """The key that must verify the token, ``None`` if no key has its kid; refuses a kid-less or misfit token."""
    if kid is None:
        if len(keys.keys) != 1:
            raise InvalidToken(
                "kid", f"the token names no kid and the provider publishes {len(keys.keys)} usable keys, not exactly 1"
            )
        candidates: tuple[SigningKey, ...] = keys.keys
    else:
        found = keys.by_kid.get(kid)
        if found is None:
            return None
        candidates = found
    for key in candidates:
        if alg in key.verifiers:
            return key
    fits = "; ".join(key.describe() for key in candidates)
    raise InvalidToken("algorithm", f"alg {shown(alg)} does not fit the key: {fits}")


def _unknown_kid(kid: str | None, keys: KeySet) -> InvalidToken:
    if kid is not None and kid in keys.ignored_kids:
        return InvalidToken("kid", f"the provider's {keys.ignored_kids[kid]}")
    known = ", ".join(shown(k, 40) for k in list(keys.by_kid)[:8]) or "none"
    return InvalidToken("kid", f"the provider publishes no key with kid {shown(kid)} (known kids: {known})")


def _check_signature(token: str, key: SigningKey, alg: str) -> None:
    try:
        _JWS.decode_complete(token, key=key.verifiers[alg], algorithms=[alg])
    except InvalidSignatureError:
        raise InvalidToken("signature", f"the signature does not verify with key {key.describe()}") from None
    except InvalidAlgorithmError:
        raise InvalidToken("algorithm", f"alg {shown(alg)} does not fit the key {key.describe()}") from None
    except PyJWTError as exc:
        raise InvalidToken(
            "malformed", f"the token could not be decoded for verification ({type(exc).__name__})"
        ) from None


def _unavailable(provider: OidcProvider) -> InvalidToken:
    return InvalidToken(
        "jwks_unavailable", f"the signing keys of {shown(provider.issuer, 200)} could not be fetched; try again later"
    )


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
        alg, kid = _check_header(header, provider)
        verdict = _check_claims(claims, provider, self._clock())
        try:
            keys = self._observe(await self._source.current())
        except FetchError:
            raise _unavailable(provider) from None
        key = _select(keys, kid, alg)
        if key is None:
            keys = self._observe(await self._source.refreshed(keys))
            key = _select(keys, kid, alg)
            if key is None:
                raise _unknown_kid(kid, keys)
        _check_signature(token, key, alg)
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


async def diagnose(
    provider: OidcProvider,
    http: httpx.AsyncClient,
    token: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
    timeout: float = 5.0,  # noqa: ASYNC109 - bounds each fetch, not the whole diagnosis
) -> list[Finding]:
    """What works and what does not between this host and ``provider``, and about ``token`` if given.

    Fetches afresh (no cache): the discovery document (reachable, ``issuer``
    matching), the JWKS (reachable, its usable keys by kid and algorithm, the
    ignored ones and why), the clock skew against the provider's HTTP ``Date``;
    then for a token every check on its own (so all problems show, not just the
    first) and the verdict ``verify`` would reach with these keys. Never
    raises for what it finds; no message contains the token.
    """
    findings: list[Finding] = []

    def note(ok: bool, check: str, message: str) -> None:
        findings.append(Finding(ok, check, safe(message, 2000)))

    skew: float | None = None
    jwks_url = provider.jwks_url
    if jwks_url is None:
        try:
            fetched = await fetch_json(http, discovery_url(provider.issuer), within=timeout)
        except FetchError as exc:
            note(False, "discovery", f"discovery document unreachable: {exc.detail}")
        else:
            skew = _skew(fetched, clock)
            note(True, "discovery", f"discovery document {fetched.url} reachable")
            try:
                jwks_url = jwks_uri_of(fetched, issuer=provider.issuer, allow_http=provider.allow_http)
            except FetchError as exc:
                note(False, "discovery_issuer", exc.detail)
            else:
                note(True, "discovery_issuer", f"discovery issuer matches {provider.issuer}; jwks_uri {jwks_url}")
    keys: KeySet | None = None
    if jwks_url is None:
        note(False, "jwks", "JWKS not fetched: no usable jwks_uri from discovery")
    else:
        try:
            fetched = await fetch_json(http, jwks_url, within=timeout)
            max_age = fetched.max_age if fetched.max_age is not None else DEFAULT_MAX_AGE
            keys = parse_jwks(fetched.document, source=jwks_url, fetched_at=clock(), max_age=max_age)
        except FetchError as exc:
            note(False, "jwks", f"JWKS unreachable or invalid: {exc.detail}")
        else:
            skew = _skew(fetched, clock) if skew is None else skew
            note(bool(keys.keys), "jwks", f"JWKS {jwks_url}: {keys.describe()}; kept for {max_age:g} s")
    if skew is not None:
        note(abs(skew) <= provider.leeway, "clock", _skew_message(skew, provider.leeway))
    if token is not None:
        _diagnose_token(provider, token, keys, clock(), note)
    return findings


def _skew(fetched: Fetched, clock: Callable[[], float]) -> float | None:
    """This host's clock minus the provider's (from its ``Date`` header, to the second)."""
    return None if fetched.server_date is None else clock() - fetched.server_date


def _skew_message(skew: float, leeway: float) -> str:
    if abs(skew) < 2:
        return f"this host's clock agrees with the identity provider's (HTTP Date) to within 2 s; leeway {leeway:g} s"
    relation = "ahead of" if skew > 0 else "behind"
    return (
        f"this host's clock is about {abs(skew):.0f} s {relation} the identity provider's (HTTP Date); "
        f"leeway {leeway:g} s"
    )


def _time_finding(name: str, at: float | None, now: float, leeway: float) -> tuple[bool, str]:
    if at is None:
        return True, f"no {name} claim"
    delta = at - now
    when = f"{delta:.0f} s from now" if delta >= 0 else f"{-delta:.0f} s ago"
    if name == "exp":
        ok = at > now - leeway
        verdict = "not expired" if at > now else ("expired, within leeway" if ok else "expired beyond leeway")
    else:
        ok = at <= now + leeway
        if at <= now:
            verdict = "in the past"
        else:
            within = "within leeway" if ok else "beyond leeway"
            verdict = f"in the future, {within}: this host's clock is at least {delta:.0f} s behind the token issuer's"
    return ok, f"{name} {iso(at)}, {when} ({verdict}; leeway {leeway:g} s)"


def _named(value: str | None) -> str:
    return shown(value) if value is not None else "none"


def _diagnose_token(
    provider: OidcProvider,
    token: str,
    keys: KeySet | None,
    now: float,
    note: Callable[[bool, str, str], None],
) -> None:
    try:
        header, claims = parse(token)
    except InvalidToken as exc:
        note(False, "token", exc.description)
        note(False, "verdict", f"refused: {exc.description}")
        return
    alg, kid = header["alg"], header.get("kid")
    accepted = alg in provider.algorithms
    note(accepted, "algorithm", f"header alg {shown(alg)} is {'' if accepted else 'not '}accepted")
    key: SigningKey | None = None
    if keys is None:
        note(False, "kid", f"header kid {shown(kid)}: no JWKS to look it up in")
    elif accepted:
        try:
            key = _select(keys, kid, alg)
        except InvalidToken as exc:
            note(False, "kid", exc.description)
        else:
            if key is None:
                note(False, "kid", f"header kid {shown(kid)}: {_unknown_kid(kid, keys).description}")
            else:
                note(True, "kid", f"header kid {shown(kid)}: the JWKS has {key.describe()}")
    if key is not None:
        try:
            _check_signature(token, key, alg)
        except InvalidToken as exc:
            note(False, "signature", exc.description)
        else:
            note(True, "signature", f"signature valid ({alg} with key {key.describe()})")
    issuer = claims.get("iss")
    note(issuer == provider.issuer, "issuer", f"iss {shown(issuer, 200)}; expected {shown(provider.issuer, 200)}")
    try:
        audiences = _audiences(claims, provider.audience)
    except InvalidToken as exc:
        note(False, "audience", exc.description)
    else:
        expected = shown(provider.audience, 200)
        note(provider.audience in audiences, "audience", f"aud {_seen(audiences)}; expected {expected} among them")
    note(True, "now", f"now is {iso(now)} on this host")
    for name, check in (("exp", "expiry"), ("nbf", "not_before"), ("iat", "issued_at")):
        try:
            at = numeric_claim(claims, name, required=name == "exp")
        except InvalidToken as exc:
            note(False, check, exc.description)
        else:
            ok, message = _time_finding(name, at, now, provider.leeway)
            note(ok, check, message)
    try:
        role, tenant, customer = _identity(claims, provider)
    except InvalidToken as exc:
        note(False, "identity", exc.description)
    else:
        note(
            True,
            "identity",
            f"sub {shown(claims.get('sub'))}: role {role}, tenant {_named(tenant)}, customer {_named(customer)}",
        )
    if keys is None:
        note(False, "verdict", f"refused: {_unavailable(provider).description}")
        return
    try:
        alg, kid = _check_header(header, provider)
        _check_claims(claims, provider, now)
        key = _select(keys, kid, alg)
        if key is None:
            raise _unknown_kid(kid, keys)
        _check_signature(token, key, alg)
    except InvalidToken as exc:
        note(False, "verdict", f"refused: {exc.description}")
    else:
        note(True, "verdict", "accepted")
