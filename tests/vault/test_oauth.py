"""OAuth tokens through the vault: renewed once for all concurrent callers, across replicas too."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, NoReturn
from uuid import uuid4

import httpx
import pytest
from oauth_fake_support import OAuthFake

from msplex.connectors.framework import (
    AuthorizationCode,
    ClientCredentials,
    InstanceConfig,
    ToolContext,
    ToolSpec,
    Vendor,
    VendorInstance,
)
from msplex.state import SharedState
from msplex.state.memory import MemoryState
from msplex.state.redis import RedisState
from msplex.vault import MemoryTokens, build_auth
from support.local_http import serve


async def me(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await ctx.http.get("/api/me")
    return result


async def validate(ctx: ToolContext) -> None:
    await ctx.http.get("/api/me")


TOOL = ToolSpec("me", "Who am I.", {"type": "object"}, {"type": "object"}, me, read_only=True)
CC = Vendor(
    kind="ccvendor",
    title="CC Vendor",
    credential=ClientCredentials(token_url=lambda c: f"{c.base_url}/oauth/token"),
    flags=(),
    tools=(TOOL,),
    validate=validate,
)
AC = Vendor(
    kind="acvendor",
    title="AC Vendor",
    credential=AuthorizationCode(
        authorize_url=lambda c: f"{c.base_url}/oauth/authorize",
        token_url=lambda c: f"{c.base_url}/oauth/token",
        scope="monitoring",
    ),
    flags=(),
    tools=(TOOL,),
    validate=validate,
)


REDIS_URL = os.environ.get("MSPLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def replicas(
    request: pytest.FixtureRequest, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[tuple[SharedState, SharedState]]:
    """The shared state as two replicas see it: one in-process state, or two clients of one Redis."""
    if request.param == "memory":
        state = MemoryState()
        await state.start()
        yield state, state
        await state.close()
        return
    prefix = f"msplex-test-{uuid4().hex[:8]}:"
    first, second = RedisState(REDIS_URL, prefix=prefix), RedisState(REDIS_URL, prefix=prefix)
    try:
        await first.start()
    except (ConnectionError, OSError) as exc:
        unavailable(f"Redis at {REDIS_URL.rpartition('@')[2]}", f"{type(exc).__name__}: {str(exc)[:120]}")
    await second.start()
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def fake() -> AsyncIterator[tuple[OAuthFake, str]]:
    f = OAuthFake()
    async with serve(f.app()) as url:
        yield f, url


def secrets_of(f: OAuthFake) -> dict[str, str]:
    return {"client_id": f.client_id, "client_secret": f.client_secret}


def expired(f: OAuthFake, refresh: bool = False) -> dict[str, Any]:
    token = f.issue(lifetime=-10, refresh=refresh)
    token["expires_at"] = int(time.time()) - 10
    return token


async def test_expired_token_is_renewed_exactly_once_under_20_concurrent_calls(fake: tuple[OAuthFake, str]) -> None:
    f, url = fake
    config = InstanceConfig(base_url=url, settings={"scope": "all"})
    async with httpx.AsyncClient() as client:
        auth = build_auth(CC, config, secrets_of(f), client, tokens=MemoryTokens(expired(f)))
        inst = VendorInstance(CC, config, auth, client, tenant="acme")
        results = await asyncio.gather(*(inst.call("me", {}) for _ in range(20)))
    assert all(not r["isError"] for r in results)
    assert len(f.token_requests) == 1
    assert f.token_requests[0]["grant_type"] == "client_credentials"


async def test_token_the_vendor_rejects_early_is_renewed_once(fake: tuple[OAuthFake, str]) -> None:
    f, url = fake
    revoked = f.issue()
    f.access[revoked["access_token"]] = 0  # the vendor revoked it before its stated expiry
    revoked["expires_at"] = int(time.time()) + 3600
    config = InstanceConfig(base_url=url)
    async with httpx.AsyncClient() as client:
        auth = build_auth(CC, config, secrets_of(f), client, tokens=MemoryTokens(revoked))
        inst = VendorInstance(CC, config, auth, client, tenant="acme")
        results = await asyncio.gather(*(inst.call("me", {}) for _ in range(20)))
    assert all(not r["isError"] for r in results)
    assert len(f.token_requests) == 1


def two_replicas(
    vendor: Vendor,
    url: str,
    f: OAuthFake,
    client: httpx.AsyncClient,
    store: MemoryTokens,
    states: Sequence[SharedState],
) -> list[VendorInstance]:
    """One instance per replica, sharing the token store (the database) and the renewal lock."""
    config = InstanceConfig(base_url=url)
    return [
        VendorInstance(
            vendor,
            config,
            build_auth(vendor, config, secrets_of(f), client, tokens=store, state=state, lock_key="vault:token:t:1"),
            client,
            tenant="acme",
        )
        for state in states
    ]


async def test_two_replicas_share_one_renewal_through_the_state_lock(
    fake: tuple[OAuthFake, str], replicas: tuple[SharedState, SharedState]
) -> None:
    f, url = fake
    async with httpx.AsyncClient() as client:
        pair = two_replicas(CC, url, f, client, MemoryTokens(expired(f)), replicas)
        results = await asyncio.gather(*(pair[i % 2].call("me", {}) for i in range(20)))
    assert all(not r["isError"] for r in results)
    assert len(f.token_requests) == 1


async def test_rotating_refresh_token_is_never_used_twice_across_replicas(
    fake: tuple[OAuthFake, str], replicas: tuple[SharedState, SharedState]
) -> None:
    f, url = fake
    store = MemoryTokens(expired(f, refresh=True))
    async with httpx.AsyncClient() as client:
        pair = two_replicas(AC, url, f, client, store, replicas)
        results = await asyncio.gather(*(pair[i % 2].call("me", {}) for i in range(20)))
        assert all(not r["isError"] for r in results)
        assert [r["grant_type"] for r in f.token_requests] == ["refresh_token"]
        assert f.reused == []
        # the rotated refresh token was saved: the next renewal uses it, not the spent one
        assert store.token is not None and f.refresh[store.token["refresh_token"]] is True


async def test_refresh_failure_marks_the_instance_not_ready_with_the_reason(fake: tuple[OAuthFake, str]) -> None:
    f, url = fake
    config = InstanceConfig(base_url=url)
    async with httpx.AsyncClient() as client:
        wrong = {"client_id": f.client_id, "client_secret": "not-the-secret"}
        auth = build_auth(CC, config, wrong, client, tokens=MemoryTokens(), fix="run `msplex connect ccvendor`")
        inst = VendorInstance(CC, config, auth, client, tenant="acme")
        result = await inst.call("me", {})
    assert result["isError"] is True
    assert "rejected the client credentials" in result["content"][0]["text"]
    assert "not-the-secret" not in str(result)
    assert inst.readiness.ready is False and "invalid_client" in (inst.readiness.reason or "")


async def test_missing_scope_is_named(fake: tuple[OAuthFake, str]) -> None:
    f, url = fake
    config = InstanceConfig(base_url=url, settings={"scope": "all admin"})
    async with httpx.AsyncClient() as client:
        inst = VendorInstance(CC, config, build_auth(CC, config, secrets_of(f), client), client, tenant="acme")
        with pytest.raises(Exception, match="lacks a requested scope"):
            await inst.validate()
    assert inst.readiness.ready is False
