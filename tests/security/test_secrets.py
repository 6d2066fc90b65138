"""An upstream's ``--header`` secret reaches that upstream and nowhere else: not the CLI's
listings, not status, not error messages to clients, not the gateway's log."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from security_support import SECRET, Tenants

from support.gateway import connect, jsonrpc_of, legacy_headers, modern_request, rpc


async def _mirror_contacted(tenants: Tenants) -> None:
    for _ in range(100):
        if tenants.mirror.seen:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway never contacted the mirror upstream")


async def test_the_secret_reaches_its_upstream(tenants: Tenants) -> None:
    """Guard against a vacuous suite: the header really is sent upstream."""
    async with connect(tenants.url("acme"), tenants.acme, "legacy") as client:
        await client.list_tools()
    await _mirror_contacted(tenants)
    assert f"Bearer {SECRET}" in tenants.mirror.seen


async def test_no_secret_in_cli_output(tenants: Tenants) -> None:
    await _mirror_contacted(tenants)
    listed = await tenants.gw.acli("upstream", "list", "--tenant", "acme")
    status = await tenants.gw.acli("status")

    async def unhealthy_mirror() -> dict[str, object]:
        for _ in range(60):
            doc = json.loads((await tenants.gw.acli("status", "--json"))[1])
            if any(u["upstream"] == "mirror" for u in doc["unhealthy"]):
                return doc
            await asyncio.sleep(0.2)
        raise AssertionError("status --json never reported the mirror upstream unhealthy")

    doc = await unhealthy_mirror()
    status_after = await tenants.gw.acli("status")
    assert "Authorization: ****" in listed[1]
    for _, out, err in (listed, status, status_after):
        assert SECRET not in out and SECRET not in err
    assert SECRET not in json.dumps(doc)
    assert "mirror" in status_after[1]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_no_secret_in_errors_to_clients(tenants: Tenants, mode: str) -> None:
    async with connect(tenants.url("acme"), tenants.acme, mode) as client:
        errors = []
        for attempt in (
            client.session.call_tool("mirror__anything", {}),
            client.read_resource("mirror+test://x"),
            client.get_prompt("mirror__p", {}),
        ):
            with pytest.raises(Exception) as caught:
                await attempt
            errors.append(caught.value)
    for error in errors:
        assert SECRET not in repr(error) and SECRET not in str(getattr(error, "data", ""))
    async with httpx2.AsyncClient(timeout=30) as http:
        headers, body = modern_request("resources/read", {"uri": "mirror+test://x"}, tenants.acme, "mirror+test://x")
        raw = await http.post(tenants.url("acme"), json=body, headers=headers)
        anonymous = await http.post(tenants.url("acme"), json=rpc("ping"), headers=legacy_headers(None))
    assert SECRET not in raw.text and "error" in jsonrpc_of(raw)
    assert SECRET not in anonymous.text


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_an_upstream_echoing_its_credential_gets_it_redacted(tenants: Tenants, mode: str) -> None:
    """Regression: results were relayed verbatim, so an upstream could hand its credential to any client."""
    async with connect(tenants.url("acme"), tenants.acme, mode) as client:
        echoed = await client.call_tool("ev__echo", {"header": "authorization"})
        plain = await client.call_tool("ev__echo", {"text": "nothing secret"})
    text = echoed.content[0].text  # type: ignore[union-attr]
    assert SECRET not in text and text == "[redacted]"  # the whole header value is the secret
    assert plain.content[0].text == "nothing secret"  # type: ignore[union-attr]


async def test_no_secret_and_no_client_token_in_the_gateway_log(tenants: Tenants) -> None:
    # Runs after the probes above (file order), so the log holds their failures.
    await _mirror_contacted(tenants)
    log = tenants.gw.log_text()
    assert "mirror" in log  # the failures were logged, just not the credential
    assert SECRET not in log
    assert tenants.acme not in log and tenants.beta not in log
