"""``diagnose``: what works and what does not between this host and a provider, and with a given token.

For operators (``msplex oidc check``, ``msplex status``). Every finding is a
sentence naming what was checked, what was seen and what was expected; a
message may quote a token's header and claims (cleaned, truncated) but never the
token or its signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from msplex.identity._checks import (
    audience_values,
    check_claims,
    check_header,
    check_signature,
    identity,
    listed,
    select_key,
    unavailable,
    unknown_kid,
)
from msplex.identity._jwks import (
    DEFAULT_MAX_AGE,
    Fetched,
    FetchError,
    KeySet,
    SigningKey,
    discovery_url,
    fetch_json,
    jwks_uri_of,
    parse_jwks,
)
from msplex.identity._token import InvalidToken, iso, numeric_claim, parse, safe, shown

if TYPE_CHECKING:
    from msplex.identity.oidc import OidcProvider

__all__ = ["Finding", "diagnose"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of ``diagnose``: what was checked (``check``) and what was found, in words for an operator."""

    ok: bool
    check: str
    message: str


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
            key = select_key(keys, kid, alg)
        except InvalidToken as exc:
            note(False, "kid", exc.description)
        else:
            if key is None:
                note(False, "kid", f"header kid {shown(kid)}: {unknown_kid(kid, keys).description}")
            else:
                note(True, "kid", f"header kid {shown(kid)}: the JWKS has {key.describe()}")
    if key is not None:
        try:
            check_signature(token, key, alg)
        except InvalidToken as exc:
            note(False, "signature", exc.description)
        else:
            note(True, "signature", f"signature valid ({alg} with key {key.describe()})")
    issuer = claims.get("iss")
    note(issuer == provider.issuer, "issuer", f"iss {shown(issuer, 200)}; expected {shown(provider.issuer, 200)}")
    try:
        audiences = audience_values(claims, provider.audience)
    except InvalidToken as exc:
        note(False, "audience", exc.description)
    else:
        expected = shown(provider.audience, 200)
        note(provider.audience in audiences, "audience", f"aud {listed(audiences)}; expected {expected} among them")
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
        role, tenant, customer = identity(claims, provider)
    except InvalidToken as exc:
        note(False, "identity", exc.description)
    else:
        note(
            True,
            "identity",
            f"sub {shown(claims.get('sub'))}: role {role}, tenant {_named(tenant)}, customer {_named(customer)}",
        )
    if keys is None:
        note(False, "verdict", f"refused: {unavailable(provider).description}")
        return
    try:
        alg, kid = check_header(header, provider)
        check_claims(claims, provider, now)
        key = select_key(keys, kid, alg)
        if key is None:
            raise unknown_kid(kid, keys)
        check_signature(token, key, alg)
    except InvalidToken as exc:
        note(False, "verdict", f"refused: {exc.description}")
    else:
        note(True, "verdict", "accepted")
