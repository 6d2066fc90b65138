"""OidcVerifier against a real test identity provider: what it accepts, how claims map, what it refuses and why."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msplex.call import Credential
from msplex.identity import CHECKS, InvalidToken, OidcProvider, OidcVerifier
from support.idp import Clock, Idp


def provider(idp: Idp, **settings: Any) -> OidcProvider:
    return OidcProvider(issuer=idp.issuer, audience=idp.audience, **settings)


async def refused(verifier: OidcVerifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value


def assert_header_safe(error: InvalidToken, token: str) -> None:
    """Safe in ``error_description="..."``, names its check, carries no part of the token's signature."""
    description = error.description
    assert re.fullmatch(r"[\x20-\x7e]*", description), description
    assert '"' not in description and "\\" not in description
    assert description.startswith(f"{error.check}: ")
    assert token not in description
    signature = token.rsplit(".", 1)[-1]
    if len(signature) >= 8:
        assert signature[:8] not in description and signature[-8:] not in description


# -- accepted tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
@pytest.mark.parametrize("via", ["discovery", "jwks_url"])
async def test_a_good_token_verifies(idp: Idp, http: httpx.AsyncClient, kid: str, via: str) -> None:
    settings = {"jwks_url": idp.jwks_url} if via == "jwks_url" else {}
    verifier = OidcVerifier(provider(idp, **settings), http)
    token = idp.mint({"sub": "alice", "msplex_tenant": "acme"}, kid=kid)
    verified = await verifier.verify(token)
    assert (verified.issuer, verified.subject, verified.tenant, verified.customer) == (
        idp.issuer,
        "alice",
        "acme",
        None,
    )
    assert verified.role == "member"
    assert verified.expires_at == jwt.decode(token, options={"verify_signature": False})["exp"]
    assert verified.claims["msplex_tenant"] == "acme"
    assert idp.discovery_fetches == (1 if via == "discovery" else 0)
    assert idp.jwks_fetches == 1


@pytest.mark.parametrize(("kind", "alg"), [("Ed25519", "EdDSA"), ("EC384", "ES384"), ("RSA", "PS256")])
async def test_other_asymmetric_algorithms_verify(idp: Idp, http: httpx.AsyncClient, kind: Any, alg: str) -> None:
    kid = idp.add_key(kind)
    idp.publish_without_alg(kid)  # an RSA JWK without alg may verify any RSA algorithm, PS256 included
    verifier = OidcVerifier(provider(idp), http)
    assert (await verifier.verify(idp.mint(kid=kid, alg=alg))).subject == "user-1"


async def test_a_token_without_kid_is_accepted_when_the_jwks_holds_exactly_one_key(http: httpx.AsyncClient) -> None:
    with Idp(keys=("RSA",)) as single, Idp() as double:
        assert (await OidcVerifier(provider(single), http).verify(single.mint(omit_kid=True))).subject == "user-1"
        token = double.mint(omit_kid=True)
        error = await refused(OidcVerifier(provider(double), http), token)
        assert error.check == "kid" and "2 usable keys" in error.description


async def test_leeway_admits_a_token_just_expired(idp: Idp, http: httpx.AsyncClient, clock: Clock) -> None:
    token = idp.mint(lifetime=10)
    verifier = OidcVerifier(provider(idp), http, clock=clock)
    clock.advance(10 + 59)
    assert (await verifier.verify(token)).subject == "user-1"
    clock.advance(2)
    assert (await refused(verifier, token)).check == "expired"
    assert (
        await refused(OidcVerifier(provider(idp, leeway=0), http, clock=Clock()), idp.mint(lifetime=0))
    ).check == "expired"


# -- claims to identity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "claims", "expected"),
    [
        ({}, {}, ("member", None)),
        ({}, {"roles": "admin"}, ("admin", None)),
        ({}, {"roles": ["member", "admin"]}, ("admin", None)),
        ({}, {"roles": ["customer", "member"]}, ("member", None)),
        ({}, {"roles": ["viewer", "auditor"]}, ("member", None)),
        ({"role_map": {"MSP-Admins": "admin"}}, {"roles": ["staff", "MSP-Admins"]}, ("admin", None)),
        ({"role_map": {"admin": "member"}}, {"roles": ["admin"]}, ("member", None)),
        ({"roles_claim": "realm_access.roles"}, {"realm_access": {"roles": ["admin"]}}, ("admin", None)),
        ({"roles_claim": "realm_access.roles"}, {"roles": ["admin"]}, ("member", None)),
        ({"roles_claim": "https://msplex.example/roles"}, {"https://msplex.example/roles": "admin"}, ("admin", None)),
        ({"roles_claim": "groups"}, {"groups": ["admin"]}, ("admin", None)),
        ({}, {"roles": ["admin"], "msplex_customer": "contoso"}, ("customer", "contoso")),
        ({}, {"roles": "customer", "msplex_customer": "contoso"}, ("customer", "contoso")),
        ({"customer_claim": "org.customer"}, {"org": {"customer": "fabrikam"}}, ("customer", "fabrikam")),
    ],
)
async def test_claims_map_to_a_role_and_customer(
    idp: Idp, http: httpx.AsyncClient, settings: dict[str, Any], claims: dict[str, Any], expected: tuple[str, Any]
) -> None:
    verifier = OidcVerifier(provider(idp, **settings), http)
    verified = await verifier.verify(idp.mint({**claims, "msplex_tenant": "acme"}))
    assert (verified.role, verified.customer) == expected
    assert verified.tenant == "acme"


@pytest.mark.parametrize(
    ("claims", "fragment"),
    [
        ({"roles": "customer"}, "no 'msplex_customer' claim"),
        ({"roles": 7}, "'roles' claim is 7"),
        ({"roles": ["admin", 1]}, "'roles' claim is a JSON array"),
        ({"msplex_tenant": ["acme"]}, "'msplex_tenant' claim is a JSON array"),
        ({"msplex_customer": ""}, "'msplex_customer' claim is ''"),
        ({"sub": None}, "sub claim is null"),
        ({"exp": None}, "no exp claim"),
        ({"exp": "tomorrow"}, "exp claim is 'tomorrow'"),
        ({"exp": float("inf")}, "exp claim is inf"),
        ({"nbf": True}, "nbf claim is true"),
    ],
)
async def test_unusable_claims_are_refused(
    idp: Idp, http: httpx.AsyncClient, claims: dict[str, Any], fragment: str
) -> None:
    token = idp.mint(claims)
    error = await refused(OidcVerifier(provider(idp), http), token)
    assert error.check == "claims"
    assert fragment in error.description
    assert_header_safe(error, token)


def test_provider_settings_are_validated() -> None:
    issuer = "https://idp.example"
    with pytest.raises(ValueError, match="role_map maps to owner"):
        OidcProvider(issuer=issuer, audience="a", role_map={"x": "owner"})
    with pytest.raises(ValueError, match="subset"):
        OidcProvider(issuer=issuer, audience="a", algorithms=frozenset({"RS256", "HS256"}))
    with pytest.raises(ValueError, match="HTTPS"):
        OidcProvider(issuer="http://idp.example", audience="a")
    with pytest.raises(ValueError, match="HTTPS"):
        OidcProvider(issuer=issuer, audience="a", jwks_url="http://idp.example/jwks")
    with pytest.raises(ValueError, match="audience"):
        OidcProvider(issuer=issuer, audience="")
    assert OidcProvider(issuer="http://keycloak:8080/realms/msp", audience="a", allow_http=True).allow_http
    role_map = {"g": "admin"}
    configured = OidcProvider(issuer=issuer, audience="a", role_map=role_map)
    role_map["g"] = "member"
    assert configured.role_map["g"] == "admin"
    with pytest.raises(TypeError):
        configured.role_map["h"] = "admin"  # type: ignore[index]


# -- refused tokens ----------------------------------------------------------------------------------

BadToken = Callable[[Idp], str]
BAD_TOKENS: list[tuple[str, BadToken, str, str]] = [
    ("alg none", lambda idp: idp.unsigned(), "algorithm", "alg none"),
    ("HS256 keyed with the public PEM", lambda idp: idp.hs256_with_public_key(), "algorithm", "symmetric"),
    ("HS256 keyed with the public JWK", lambda idp: idp.hs256_with_public_key(form="jwk"), "algorithm", "HS256"),
    ("forged RSA signature", lambda idp: idp.forged(), "signature", "'rsa-1'"),
    ("forged EC signature", lambda idp: idp.forged(kid="ec-1"), "signature", "'ec-1'"),
    ("expired", lambda idp: idp.expired(), "expired", "s ago (leeway 60 s)"),
    ("not yet valid", lambda idp: idp.not_yet_valid(), "not_yet_valid", "s from now (leeway 60 s)"),
    ("issued in the future", lambda idp: idp.issued_in_future(), "issued_in_future", "s in the future (leeway 60 s)"),
    ("wrong issuer", lambda idp: idp.wrong_issuer(), "issuer", "'https://evil.example'; expected 'http://127"),
    ("no issuer", lambda idp: idp.mint({"iss": None}), "issuer", "missing"),
    ("wrong audience", lambda idp: idp.wrong_audience(), "audience", "'someone-else', 'another'; expected 'msplex'"),
    ("no audience", lambda idp: idp.mint({"aud": None}), "audience", "no aud claim; expected 'msplex'"),
    ("unknown kid", lambda idp: idp.unknown_kid(), "kid", "'not-published' (known kids: 'rsa-1', 'ec-1')"),
    (
        "RS256 naming the EC key",
        lambda idp: idp.mint(kid="ec-1", alg="RS256", signing_key=idp.private_key("rsa-1")),
        "algorithm",
        "does not fit",
    ),
    ("PS256 naming a key that states RS256", lambda idp: idp.mint(alg="PS256"), "algorithm", "does not fit"),
    ("RS256, not on a narrowed allow-list", lambda idp: idp.mint(), "algorithm", "'RS256' is not accepted"),
    ("a jku header to the attacker's keys", lambda idp: _jku(idp), "kid", "'attacker'"),
    ("an embedded jwk header", lambda idp: _embedded_jwk(idp), "signature", "'rsa-1'"),
    ("a crit header", lambda idp: idp.mint(headers={"crit": ["exp"], "exp": 1}), "malformed", "crit"),
    ("an encrypted token", lambda idp: "a.b.c.d.e", "malformed", "JWE"),
    ("two segments", lambda idp: idp.mint().rsplit(".", 1)[0], "malformed", "3 dot-separated"),
    ("bad base64", lambda idp: "!!." + idp.mint().split(".", 1)[1], "malformed", "header"),
    ("a payload that is not an object", lambda idp: _with_payload(idp, b"[1,2]"), "malformed", "payload"),
    ("an oversized token", lambda idp: idp.mint({"pad": "x" * 17_000}), "malformed", "longer than 16384"),
]


def _attacker_key() -> Any:
    from support.idp import _pooled

    return _pooled("RSA", 97)


def _jku(idp: Idp) -> str:
    """A header pointing at the attacker's own JWKS, which must never be fetched."""
    return idp.mint(kid="attacker", headers={"jku": "http://127.0.0.1:9/jwks.json"}, signing_key=_attacker_key())


def _embedded_jwk(idp: Idp) -> str:
    """The attacker's public key in the header (CVE-2018-0114 style), under the real kid."""
    from jwt.algorithms import RSAAlgorithm

    attacker = _attacker_key()
    jwk = RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    return idp.mint(headers={"jwk": jwk}, signing_key=attacker)


def _with_payload(idp: Idp, payload: bytes) -> str:
    import base64

    head, _, signature = idp.mint().split(".")
    return f"{head}.{base64.urlsafe_b64encode(payload).rstrip(b'=').decode()}.{signature}"


@pytest.mark.parametrize(("case", "make", "check", "fragment"), BAD_TOKENS, ids=[case for case, *_ in BAD_TOKENS])
async def test_bad_tokens_are_refused_by_name(
    idp: Idp, http: httpx.AsyncClient, case: str, make: BadToken, check: str, fragment: str
) -> None:
    narrowed = {"algorithms": frozenset({"ES256"})} if "allow-list" in case else {}
    verifier = OidcVerifier(provider(idp, **narrowed), http)
    token = make(idp)
    error = await refused(verifier, token)
    assert error.check == check, error.description
    assert fragment in error.description
    assert_header_safe(error, token)


@pytest.mark.parametrize(
    "value", ['x", error="other', "back\\slash", "naïve ünïcode", "line\r\nbreak", "q" * 500, "'; DROP"]
)
async def test_hostile_claim_values_stay_header_safe(idp: Idp, http: httpx.AsyncClient, value: str) -> None:
    verifier = OidcVerifier(provider(idp), http)
    for token in (idp.mint({"iss": value}), idp.mint({"aud": [value, value]}), idp.unknown_kid({"sub": value})):
        error = await refused(verifier, token)
        assert_header_safe(error, token)
        assert len(error.description) <= 480


async def test_keys_that_do_not_qualify_are_never_used(idp: Idp, http: httpx.AsyncClient) -> None:
    """A short RSA key, a symmetric key and an encryption key in the JWKS verify nothing, and say why."""
    weak = idp.add_key("RSA1024")
    idp.extra_jwks_entries = [
        {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "alg": "HS256"},
        {**idp.jwks()["keys"][0], "kid": "enc", "use": "enc"},
    ]
    verifier = OidcVerifier(provider(idp), http)
    error = await refused(verifier, idp.mint(kid=weak))
    assert error.check == "kid" and "1024 bits" in error.description
    error = await refused(verifier, idp.mint(kid="enc", signing_key=idp.private_key("rsa-1"), alg="RS256"))
    assert error.check == "kid" and "not a signing key" in error.description
    error = await refused(
        verifier, jwt.encode(idp.claims(), b"secret-secret-secret-secret-secret", "HS256", {"kid": "shared"})
    )
    assert error.check == "algorithm"


# -- the verdict cache -------------------------------------------------------------------------------


async def test_a_cached_verdict_needs_no_fetch_and_ends_at_expiry(idp: Idp, http: httpx.AsyncClient) -> None:
    clock = Clock()
    verifier = OidcVerifier(provider(idp), http, clock=clock)
    token = idp.mint({"roles": "admin"}, lifetime=120)
    first = await verifier.verify(token)
    idp.close()  # the provider is gone: only the cache can answer now
    clock.advance(120 + 59)
    assert await verifier.verify(token) is first
    assert await verifier.verify(Credential(token)) is first
    assert idp.jwks_fetches == 1
    clock.advance(2)
    error = await refused(verifier, token)
    assert error.check == "expired"


async def test_the_verdict_cache_is_bounded_least_recently_used_first(idp: Idp, http: httpx.AsyncClient) -> None:
    verifier = OidcVerifier(provider(idp), http, cache_size=2)
    tokens = [idp.mint({"sub": f"user-{n}"}) for n in range(3)]
    first, second = await verifier.verify(tokens[0]), await verifier.verify(tokens[1])
    assert await verifier.verify(tokens[0]) is first  # now tokens[1] is the least recently used
    third = await verifier.verify(tokens[2])
    assert await verifier.verify(tokens[0]) is first
    assert await verifier.verify(tokens[2]) is third
    again = await verifier.verify(tokens[1])
    assert again is not second and again == second  # evicted, so verified afresh


async def test_a_verdict_is_forgotten_once_its_key_leaves_the_jwks(
    idp: Idp, http: httpx.AsyncClient, clock: Clock
) -> None:
    verifier = OidcVerifier(provider(idp), http, clock=clock)
    old = idp.mint()
    await verifier.verify(old)
    new_kid = idp.rotate()
    idp.remove_key("rsa-1")
    clock.advance(31)
    await verifier.verify(idp.mint(kid=new_kid))  # unknown kid: the JWKS is fetched again, without rsa-1
    error = await refused(verifier, old)
    assert error.check == "kid" and "'rsa-1'" in error.description


async def test_refusals_are_not_cached(idp: Idp, http: httpx.AsyncClient, clock: Clock) -> None:
    verifier = OidcVerifier(provider(idp), http, clock=clock)
    token = idp.not_yet_valid()
    assert (await refused(verifier, token)).check == "not_yet_valid"
    clock.advance(600)
    assert (await verifier.verify(token)).subject == "user-1"


# -- anything at all ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_idp() -> Iterator[Idp]:
    with Idp() as idp:
        yield idp


@pytest.fixture(scope="module")
def shared_verifier(shared_idp: Idp, http: httpx.AsyncClient) -> OidcVerifier:
    return OidcVerifier(provider(shared_idp), http)


_NOW = int(time.time())


def _near_token(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment(header)}.{segment(claims)}.{signature}"


_ANY = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.lists(st.text(max_size=6))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_near_token_is_refused_by_name(
    shared_idp: Idp, shared_verifier: OidcVerifier, data: st.DataObject
) -> None:
    idp, now = shared_idp, _NOW
    header = data.draw(
        st.fixed_dictionaries(
            {"alg": st.sampled_from(["RS256", "ES256", "PS256", "EdDSA", "none", "HS256", "RS1"]) | _ANY},
            optional={"kid": st.sampled_from(["rsa-1", "ec-1", "x"]) | _ANY, "typ": _ANY, "crit": _ANY},
        )
    )
    claims = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "iss": st.just(idp.issuer) | _ANY,
                "aud": st.just(idp.audience) | st.just([idp.audience, "x"]) | _ANY,
                "sub": st.just("user") | _ANY,
                "exp": st.integers(now - 1000, now + 1000) | _ANY,
                "nbf": st.integers(now - 1000, now + 1000) | _ANY,
                "iat": st.integers(now - 1000, now + 1000) | _ANY,
                "roles": _ANY,
                "msplex_customer": _ANY,
            },
        )
    )
    token = _near_token(header, claims, data.draw(st.from_regex(r"[A-Za-z0-9_-]{0,400}", fullmatch=True)))
    error = await refused(shared_verifier, token)
    assert error.check in CHECKS
    assert_header_safe(error, token)
