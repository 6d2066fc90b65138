"""The checks a token must pass, each refusing with its own ``InvalidToken``; and what a passing token means.

Pure functions of the token, the provider's settings, a key set and the time:
``OidcVerifier`` runs them in order and stops at the first refusal, ``diagnose``
runs each on its own so that every problem shows. Neither may accept a token
these functions would refuse: this module is the one definition of a valid token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from jwt import InvalidAlgorithmError, InvalidSignatureError, PyJWS, PyJWTError

from msplex.identity._jwks import ALGORITHMS, KeySet, SigningKey
from msplex.identity._token import InvalidToken, claim_at, iso, numeric_claim, shown

if TYPE_CHECKING:
    from msplex.identity.oidc import OidcProvider

__all__ = [
    "ROLES",
    "Role",
    "VerifiedToken",
    "audience_values",
    "check_claims",
    "check_header",
    "check_signature",
    "check_times",
    "identity",
    "listed",
    "select_key",
    "unavailable",
    "unknown_kid",
]

Role = Literal["admin", "member", "customer"]
ROLES: Final[frozenset[str]] = frozenset({"admin", "member", "customer"})
_JWS: Final = PyJWS(algorithms=sorted(ALGORITHMS))


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


def check_header(header: Mapping[str, Any], provider: OidcProvider) -> tuple[str, str | None]:
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


def audience_values(claims: Mapping[str, Any], expected: str) -> list[str]:
    aud = claims.get("aud")
    if aud is None:
        raise InvalidToken("audience", f"the token has no aud claim; expected {shown(expected, 200)}")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(value, str) for value in aud):
        return aud
    raise InvalidToken("audience", f"the aud claim is {shown(aud)}, not a string or a list of strings")


def listed(values: list[str]) -> str:
    listed = ", ".join(shown(value, 48) for value in values[:4])
    return (listed + (f" and {len(values) - 4} more" if len(values) > 4 else "")) or "none"


def check_times(claims: Mapping[str, Any], now: float, leeway: float) -> float:
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


def identity(claims: Mapping[str, Any], provider: OidcProvider) -> tuple[Role, str | None, str | None]:
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


def check_claims(claims: dict[str, Any], provider: OidcProvider, now: float) -> VerifiedToken:
    """The identity the claims describe, once every claim check passes; the signature is not looked at."""
    issuer = claims.get("iss")
    if issuer != provider.issuer:
        seen = f"is {shown(issuer, 200)}" if issuer is not None else "is missing"
        raise InvalidToken("issuer", f"the token's iss {seen}; expected {shown(provider.issuer, 200)}")
    audiences = audience_values(claims, provider.audience)
    if provider.audience not in audiences:
        raise InvalidToken(
            "audience", f"the token is for audience {listed(audiences)}; expected {shown(provider.audience, 200)}"
        )
    exp = check_times(claims, now, provider.leeway)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("claims", f"the sub claim is {shown(subject)}, not a non-empty string")
    role, tenant, customer = identity(claims, provider)
    return VerifiedToken(provider.issuer, subject, exp, role, tenant, customer, MappingProxyType(claims))


def select_key(keys: KeySet, kid: str | None, alg: str) -> SigningKey | None:
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


def unknown_kid(kid: str | None, keys: KeySet) -> InvalidToken:
    if kid is not None and kid in keys.ignored_kids:
        return InvalidToken("kid", f"the provider's {keys.ignored_kids[kid]}")
    known = ", ".join(shown(k, 40) for k in list(keys.by_kid)[:8]) or "none"
    return InvalidToken("kid", f"the provider publishes no key with kid {shown(kid)} (known kids: {known})")


def check_signature(token: str, key: SigningKey, alg: str) -> None:
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


def unavailable(provider: OidcProvider) -> InvalidToken:
    return InvalidToken(
        "jwks_unavailable", f"the signing keys of {shown(provider.issuer, 200)} could not be fetched; try again later"
    )
