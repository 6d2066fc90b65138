"""diagnose(): each problem between the gateway and a provider, and with a token, named in words; never the token."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from msplex.identity import Finding, OidcProvider, diagnose
from support.idp import Idp


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    result: dict[str, Finding] = {}
    for finding in findings:
        assert finding.check not in result, f"two findings for {finding.check}"
        result[finding.check] = finding
    return result


def assert_token_absent(findings: list[Finding], token: str) -> None:
    signature = token.rsplit(".", 1)[-1]
    for finding in findings:
        assert token not in finding.message
        assert signature[:12] not in finding.message and signature[-12:] not in finding.message
        assert finding.message.isascii()


def provider(idp: Idp, **settings: object) -> OidcProvider:
    return OidcProvider(issuer=idp.issuer, audience=idp.audience, **settings)  # type: ignore[arg-type]


async def test_a_healthy_provider_and_a_good_token(idp: Idp, http: httpx.AsyncClient) -> None:
    token = idp.mint({"sub": "alice", "roles": ["MSP-Admins"], "msplex_tenant": "acme"})
    findings = await diagnose(provider(idp, role_map={"MSP-Admins": "admin"}), http, token)
    found = by_check(findings)
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    assert idp.issuer in found["discovery_issuer"].message
    assert "2 usable key(s)" in found["jwks"].message
    assert "'rsa-1' (RSA: RS256)" in found["jwks"].message and "'ec-1' (EC P-256: ES256)" in found["jwks"].message
    assert "'RS256'" in found["algorithm"].message and "'rsa-1'" in found["kid"].message
    assert "signature valid" in found["signature"].message
    assert "role admin, tenant 'acme', customer none" in found["identity"].message
    assert "'alice'" in found["identity"].message
    assert found["verdict"].message == "accepted"
    assert_token_absent(findings, token)


async def test_without_a_token_only_the_provider_is_checked(idp: Idp, http: httpx.AsyncClient) -> None:
    found = by_check(await diagnose(provider(idp), http))
    assert set(found) == {"discovery", "discovery_issuer", "jwks", "clock"}


async def test_an_unreachable_provider(http: httpx.AsyncClient) -> None:
    with Idp() as gone:
        token = gone.mint()
        settings = provider(gone)
    findings = await diagnose(settings, http, token, timeout=1.0)
    found = by_check(findings)
    assert not found["discovery"].ok and "/.well-known/openid-configuration" in found["discovery"].message
    assert not found["jwks"].ok
    assert not found["verdict"].ok and "jwks_unavailable" in found["verdict"].message
    assert_token_absent(findings, token)


@pytest.mark.parametrize("failure", [{"jwks_status": 500}, {"jwks_delay": 5.0}])
async def test_an_unreachable_jwks(idp: Idp, http: httpx.AsyncClient, failure: dict[str, object]) -> None:
    for name, value in failure.items():
        setattr(idp, name, value)
    found = by_check(await diagnose(provider(idp, jwks_url=idp.jwks_url), http, timeout=0.3))
    assert "discovery" not in found
    assert not found["jwks"].ok
    assert idp.jwks_url in found["jwks"].message
    assert ("HTTP 500" if "jwks_status" in failure else "did not answer within 0.3 s") in found["jwks"].message


async def test_a_discovery_document_for_another_issuer(idp: Idp, http: httpx.AsyncClient) -> None:
    idp.discovery_issuer = "https://impostor.example"
    found = by_check(await diagnose(provider(idp), http))
    assert found["discovery"].ok
    assert not found["discovery_issuer"].ok
    assert "'https://impostor.example'" in found["discovery_issuer"].message
    assert f"'{idp.issuer}'" in found["discovery_issuer"].message
    assert not found["jwks"].ok


async def test_ignored_keys_are_named_with_the_reason(idp: Idp, http: httpx.AsyncClient) -> None:
    idp.extra_jwks_entries = [{"kty": "oct", "kid": "shared", "k": "c2VjcmV0"}]
    idp.remove_key("rsa-1")
    idp.remove_key("ec-1")
    found = by_check(await diagnose(provider(idp), http))
    assert not found["jwks"].ok
    assert "0 usable key(s)" in found["jwks"].message
    assert "'shared': a symmetric (oct) key" in found["jwks"].message


async def test_a_token_naming_no_known_key(idp: Idp, http: httpx.AsyncClient) -> None:
    token = idp.unknown_kid()
    findings = await diagnose(provider(idp), http, token)
    found = by_check(findings)
    assert not found["kid"].ok
    assert "'not-published'" in found["kid"].message and "'rsa-1', 'ec-1'" in found["kid"].message
    assert "signature" not in found
    assert not found["verdict"].ok and "kid" in found["verdict"].message
    assert_token_absent(findings, token)


async def test_a_forged_signature(idp: Idp, http: httpx.AsyncClient) -> None:
    token = idp.forged()
    findings = await diagnose(provider(idp), http, token)
    found = by_check(findings)
    assert found["kid"].ok and not found["signature"].ok
    assert "does not verify" in found["signature"].message
    assert_token_absent(findings, token)


async def test_audience_and_issuer_seen_versus_expected(idp: Idp, http: httpx.AsyncClient) -> None:
    token = idp.mint({"aud": ["api://other", "account"], "iss": "https://elsewhere.example"})
    findings = await diagnose(provider(idp), http, token)
    found = by_check(findings)
    assert not found["audience"].ok
    assert "'api://other', 'account'" in found["audience"].message and "'msplex'" in found["audience"].message
    assert not found["issuer"].ok
    assert "'https://elsewhere.example'" in found["issuer"].message and idp.issuer in found["issuer"].message
    assert found["signature"].ok  # every check reports on its own
    assert_token_absent(findings, token)


async def test_clock_skew_is_measured_in_seconds(idp: Idp, http: httpx.AsyncClient) -> None:
    idp.date_offset = 180  # the provider's clock runs 3 minutes ahead of this host's, and so do its tokens
    issued = int(time.time()) + 180
    token = idp.mint({"iat": issued, "nbf": issued, "exp": issued + 300})
    found = by_check(await diagnose(provider(idp), http, token))
    assert not found["clock"].ok
    assert re.search(r"this host's clock is about 1(79|80) s behind the identity provider's", found["clock"].message)
    assert not found["issued_at"].ok
    assert re.search(r"1(79|80) s from now .*at least 1(79|80) s behind", found["issued_at"].message)
    assert not found["not_before"].ok
    assert not found["verdict"].ok and "not_yet_valid" in found["verdict"].message


async def test_an_expired_token_says_how_long_ago(idp: Idp, http: httpx.AsyncClient) -> None:
    token = idp.expired()
    found = by_check(await diagnose(provider(idp), http, token))
    assert not found["expiry"].ok
    assert "s ago (expired beyond leeway; leeway 60 s)" in found["expiry"].message
    assert not found["verdict"].ok and "expired" in found["verdict"].message


async def test_a_malformed_token(idp: Idp, http: httpx.AsyncClient) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.not json at all.c2ln"
    findings = await diagnose(provider(idp), http, token)
    found = by_check(findings)
    assert not found["token"].ok and "malformed" in found["token"].message
    assert not found["verdict"].ok
    assert_token_absent(findings, token)
