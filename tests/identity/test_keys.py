"""How the verifier gets the provider's keys: discovery, rotation, the refresh rate limit, single flight, failures.

Every count here is the test provider's own count of requests it served.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from msplex.identity import InvalidToken, OidcProvider, OidcVerifier
from support.idp import Clock, Idp


def verifier_for(idp: Idp, http: httpx.AsyncClient, clock: Clock | None = None, **options: Any) -> OidcVerifier:
    provider = OidcProvider(issuer=idp.issuer, audience=idp.audience, jwks_url=options.pop("jwks_url", None))
    return OidcVerifier(provider, http, clock=clock or Clock(), **options)


def lasting(sub: str) -> dict[str, Any]:
    """Claims of a token valid for a day from now, for tests that move the clock by hours."""
    return {"sub": sub, "iat": None, "nbf": None, "exp": int(time.time()) + 86_400}


async def check_of(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value.check


async def test_a_rotated_key_is_fetched_once(idp: Idp, http: httpx.AsyncClient, clock: Clock) -> None:
    verifier = verifier_for(idp, http, clock)
    await verifier.verify(idp.mint())
    assert (idp.discovery_fetches, idp.jwks_fetches) == (1, 1)
    new_kid = idp.rotate("EC")
    clock.advance(31)
    tokens = [idp.mint({"sub": f"user-{n}"}, kid=new_kid) for n in range(20)]
    verified = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert [v.subject for v in verified] == [f"user-{n}" for n in range(20)]
    assert idp.jwks_fetches == 2
    await verifier.verify(idp.mint({"sub": "later"}, kid=new_kid))
    await verifier.verify(idp.mint({"sub": "old key"}, kid="rsa-1"))
    assert idp.jwks_fetches == 2


async def test_a_flood_of_unknown_kids_fetches_at_most_once_per_min_refresh(
    idp: Idp, http: httpx.AsyncClient, clock: Clock
) -> None:
    verifier = verifier_for(idp, http, clock)
    await verifier.verify(idp.mint())
    forged = [idp.mint(kid=f"forged-{n}", signing_key=idp.private_key("rsa-1")) for n in range(50)]
    for token in forged[:25]:  # within min_refresh of the first fetch: none
        assert await check_of(verifier, token) == "kid"
    assert idp.jwks_fetches == 1
    clock.advance(31)
    checks = await asyncio.gather(*(check_of(verifier, token) for token in forged[25:]))
    assert set(checks) == {"kid"}
    assert idp.jwks_fetches == 2
    for token in forged:
        assert await check_of(verifier, token) == "kid"
    assert idp.jwks_fetches == 2


async def test_a_key_rotated_in_within_min_refresh_waits_for_it(
    idp: Idp, http: httpx.AsyncClient, clock: Clock
) -> None:
    """The price of the rate limit: a key published right after a fetch is known min_refresh later."""
    verifier = verifier_for(idp, http, clock, min_refresh=30.0)
    await verifier.verify(idp.mint())
    token = idp.mint(kid=idp.rotate())
    clock.advance(10)
    assert await check_of(verifier, token) == "kid"
    clock.advance(21)
    assert (await verifier.verify(token)).subject == "user-1"


async def test_concurrent_first_verifications_fetch_once(idp: Idp, http: httpx.AsyncClient) -> None:
    verifier = verifier_for(idp, http)
    tokens = [idp.mint({"sub": f"user-{n}"}, kid=("rsa-1", "ec-1")[n % 2]) for n in range(30)]
    await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert (idp.discovery_fetches, idp.jwks_fetches) == (1, 1)


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch(idp: Idp, http: httpx.AsyncClient) -> None:
    idp.jwks_delay = 0.2
    verifier = verifier_for(idp, http)
    impatient = asyncio.ensure_future(verifier.verify(idp.mint({"sub": "impatient"})))
    patient = asyncio.ensure_future(verifier.verify(idp.mint({"sub": "patient"})))
    await asyncio.sleep(0.05)
    impatient.cancel()
    assert (await patient).subject == "patient"
    assert impatient.cancelled()
    assert idp.jwks_fetches == 1


async def test_discovery_naming_another_issuer_is_refused(idp: Idp, http: httpx.AsyncClient) -> None:
    idp.discovery_issuer = "https://impostor.example"
    assert await check_of(verifier_for(idp, http), idp.mint()) == "jwks_unavailable"
    assert idp.jwks_fetches == 0


@pytest.mark.parametrize(
    "failure", [{"jwks_status": 503}, {"jwks_body": b"<html>"}, {"jwks_body": {"keys": []}}, {"jwks_delay": 5.0}]
)
async def test_keys_unavailable_is_refused_quickly(idp: Idp, http: httpx.AsyncClient, failure: dict[str, Any]) -> None:
    for name, value in failure.items():
        setattr(idp, name, value)
    verifier = verifier_for(idp, http, timeout=0.3)
    token = idp.mint()
    started = time.monotonic()
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert time.monotonic() - started < 2.0
    assert caught.value.check == "jwks_unavailable"
    assert idp.issuer in caught.value.description and token not in caught.value.description


async def test_an_unreachable_provider_is_refused_quickly(http: httpx.AsyncClient) -> None:
    with Idp() as gone:
        token = gone.mint()
        provider = OidcProvider(issuer=gone.issuer, audience=gone.audience)
    started = time.monotonic()
    with pytest.raises(InvalidToken) as caught:
        await OidcVerifier(provider, http, timeout=0.5).verify(token)
    assert caught.value.check == "jwks_unavailable"
    assert time.monotonic() - started < 2.0


async def test_after_a_failed_fetch_the_next_waits_for_min_refresh(
    idp: Idp, http: httpx.AsyncClient, clock: Clock
) -> None:
    idp.jwks_status = 503
    verifier = verifier_for(idp, http, clock)
    token = idp.mint()
    for _ in range(5):
        assert await check_of(verifier, token) == "jwks_unavailable"
    assert idp.jwks_fetches == 1
    idp.jwks_status = 200
    clock.advance(31)
    assert (await verifier.verify(token)).subject == "user-1"
    assert idp.jwks_fetches == 2


async def test_keys_are_fetched_again_after_their_max_age(idp: Idp, http: httpx.AsyncClient, clock: Clock) -> None:
    verifier = verifier_for(idp, http, clock, jwks_url=idp.jwks_url)
    await verifier.verify(idp.mint(lasting("a")))
    clock.advance(3599)
    await verifier.verify(idp.mint(lasting("b")))
    assert idp.jwks_fetches == 1
    clock.advance(2)
    await verifier.verify(idp.mint(lasting("c")))
    assert idp.jwks_fetches == 2


@pytest.mark.parametrize(("cache_control", "max_age"), [("max-age=600", 600), ("public, max-age=5", 300)])
async def test_cache_control_sets_the_max_age_within_bounds(
    idp: Idp, http: httpx.AsyncClient, clock: Clock, cache_control: str, max_age: float
) -> None:
    idp.cache_control = cache_control
    verifier = verifier_for(idp, http, clock)
    await verifier.verify(idp.mint(lasting("a")))
    clock.advance(max_age - 1)
    await verifier.verify(idp.mint(lasting("b")))
    assert idp.jwks_fetches == 1
    clock.advance(2)
    await verifier.verify(idp.mint(lasting("c")))
    assert idp.jwks_fetches == 2


async def test_stale_keys_serve_while_the_provider_is_down_but_not_forever(
    idp: Idp, http: httpx.AsyncClient, clock: Clock
) -> None:
    verifier = verifier_for(idp, http, clock)
    await verifier.verify(idp.mint(lasting("a")))
    idp.jwks_status = 503
    clock.advance(3601)
    assert (await verifier.verify(idp.mint(lasting("b")))).subject == "b"
    assert idp.jwks_fetches == 2  # it tried, failed, and used the keys it had
    clock.advance(3600)
    assert await check_of(verifier, idp.mint(lasting("c"))) == "jwks_unavailable"
