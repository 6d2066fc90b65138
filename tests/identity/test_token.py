"""The cheap, unverified peeks a router uses before choosing a verifier, and the refusal's header safety."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msplex.identity import CHECKS, InvalidToken, looks_like_jwt, unverified_issuer
from support.idp import Idp


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    with Idp() as idp:
        return {"good": idp.mint(), "unsigned": idp.unsigned(), "issuer": idp.issuer}


def test_a_jwt_looks_like_one(tokens: dict[str, str]) -> None:
    assert looks_like_jwt(tokens["good"])
    assert looks_like_jwt(tokens["unsigned"])  # so that the verifier, not the router, refuses it by name


@pytest.mark.parametrize(
    "bearer",
    [
        "mspx_0123456789abcdefghijklmnopqrstuvwxyz",
        "",
        "a.b",
        "a.b.c.d.e",
        f"{b64({'typ': 'JWT'})}.{b64({})}.sig",  # no alg
        f"{b64(['alg'])}.{b64({})}.sig",  # header not an object
        f"{b64({'alg': 'RS256'})}..sig",  # no payload
        f"{b64({'alg': 'RS256'})}.{b64({})}.s+g/",  # not base64url
        f"{b64({'alg': 'RS256'})}.{b64({'pad': 'x' * 20_000})}.sig",  # oversized
    ],
)
def test_other_bearers_do_not_look_like_a_jwt(bearer: str) -> None:
    assert not looks_like_jwt(bearer)


def test_the_issuer_can_be_peeked_without_verification(tokens: dict[str, str]) -> None:
    assert unverified_issuer(tokens["good"]) == tokens["issuer"]
    assert unverified_issuer(f"{b64({'alg': 'RS256'})}.{b64({'iss': 'https://x.example'})}.") == "https://x.example"
    assert unverified_issuer(f"{b64({'alg': 'RS256'})}.{b64({'iss': 42})}.sig") is None
    assert unverified_issuer(f"{b64({'alg': 'RS256'})}.{b64({})}.sig") is None
    assert unverified_issuer("mspx_abc") is None


@given(st.text(max_size=300))
def test_peeking_at_anything_never_raises(bearer: str) -> None:
    assert isinstance(looks_like_jwt(bearer), bool)
    assert unverified_issuer(bearer) is None or isinstance(unverified_issuer(bearer), str)


@given(
    st.builds(
        lambda head, body, sig: f"{b64(head)}.{b64(body)}.{sig}",
        st.dictionaries(st.sampled_from(["alg", "kid", "typ", "crit"]), st.text(max_size=20) | st.integers()),
        st.dictionaries(st.text(max_size=8), st.text(max_size=20) | st.integers() | st.none()),
        st.from_regex(r"[A-Za-z0-9_-]{0,40}", fullmatch=True),
    )
)
def test_peeking_at_near_jwts_never_raises(bearer: str) -> None:
    looks_like_jwt(bearer)
    unverified_issuer(bearer)


@given(st.sampled_from(sorted(CHECKS)), st.text())
def test_a_description_is_always_header_safe(check: str, detail: str) -> None:
    error = InvalidToken(check, detail)  # type: ignore[arg-type]
    assert re.fullmatch(r"[\x20-\x7e]*", error.description)
    assert '"' not in error.description and "\\" not in error.description
    assert len(error.description) <= 480
    assert error.description.startswith(f"{check}: ") and str(error) == error.description
