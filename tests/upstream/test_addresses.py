"""Upstreams a tenant registers reach public addresses only: checked at registration and at each connection."""

from __future__ import annotations

import pytest
from upstream_servers import FixtureServer

from msplex.upstream import HttpSession, UpstreamSpec, UpstreamUnavailable
from msplex.upstream.addresses import PrivateAddress, check_public_url, public_address


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("100.64.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "private"),
        ("224.0.0.1", "not routable"),
    ],
)
async def test_private_and_metadata_addresses_are_refused(host: str, why: str) -> None:
    with pytest.raises(PrivateAddress) as refused:
        await public_address(host, 80)
    assert (why in str(refused.value) and host.strip("[]") in str(refused.value)) or why in str(refused.value)


async def test_a_public_address_is_what_the_connection_uses() -> None:
    assert await public_address("93.184.215.14", 443) == "93.184.215.14"
    assert (
        await public_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 443) == "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
    )


async def test_urls_are_checked_by_their_host() -> None:
    with pytest.raises(PrivateAddress):
        await check_public_url("http://127.0.0.1:9/mcp")
    with pytest.raises(PrivateAddress, match="does not resolve"):
        await check_public_url("https://no-such-host.invalid/mcp")
    await check_public_url("https://93.184.215.14/mcp")


async def test_a_tenant_upstream_on_loopback_is_never_connected(dual_server: FixtureServer) -> None:
    guarded = HttpSession(UpstreamSpec("t", "sneaky", "http", url=dual_server.url, public_only=True))
    trusted = HttpSession(UpstreamSpec("t", "trusted", "http", url=dual_server.url))
    try:
        with pytest.raises(UpstreamUnavailable) as refused:
            await guarded.request("tools/list")
        assert (await trusted.request("tools/list"))["result"]["tools"]
    finally:
        await guarded.close()
        await trusted.close()
    assert "loopback" in str(refused.value)
