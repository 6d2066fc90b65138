"""OAuth tokens through the vault: renewed once for all concurrent callers, across replicas too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

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
from msplex.state.memory import MemoryState
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


async def test_two_replicas_share_one_renewal_through_the_state_lock(fake: tuple[OAuthFake, str]) -> None:
    f, url = fake
    config = InstanceConfig(base_url=url)
    state = MemoryState()
    await state.start()
    store = MemoryTokens(expired(f))
    async with httpx.AsyncClient() as client:
        replicas = [
            VendorInstance(
                CC,
                config,
                build_auth(CC, config, secrets_of(f), client, tokens=store, state=state, lock_key="vault:token:t:cc"),
                client,
                tenant="acme",
            )
            for _ in range(2)
        ]
        results = await asyncio.gather(*(replicas[i % 2].call("me", {}) for i in range(20)))
    await state.close()
    assert all(not r["isError"] for r in results)
    assert len(f.token_requests) == 1


async def test_rotating_refresh_token_is_never_used_twice_across_replicas(fake: tuple[OAuthFake, str]) -> None:
    f, url = fake
    config = InstanceConfig(base_url=url)
    state = MemoryState()
    await state.start()
    store = MemoryTokens(expired(f, refresh=True))
    async with httpx.AsyncClient() as client:
        replicas = [
            VendorInstance(
                AC,
                config,
                build_auth(AC, config, secrets_of(f), client, tokens=store, state=state, lock_key="vault:token:t:ac"),
                client,
                tenant="acme",
            )
            for _ in range(2)
        ]
        results = await asyncio.gather(*(replicas[i % 2].call("me", {}) for i in range(20)))
        assert all(not r["isError"] for r in results)
        assert [r["grant_type"] for r in f.token_requests] == ["refresh_token"]
        assert f.reused == []
        # the rotated refresh token was saved: the next renewal uses it, not the spent one
        assert store.token is not None and f.refresh[store.token["refresh_token"]] is True
    await state.close()


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
