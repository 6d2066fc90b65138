"""A parked call's ``requestState`` replayed by another tenant, or twice, reaches nothing and destroys nothing."""

from __future__ import annotations

from pathlib import Path

import httpx2
from security_support import Tenants

from support.gateway import ServerProcess, jsonrpc_of, modern_request


async def _ask(http: httpx2.AsyncClient, url: str, token: str, extra: dict | None = None) -> dict:
    headers, body = modern_request(
        "tools/call", {"name": "old__ask", "arguments": {}, **(extra or {})}, token, "old__ask"
    )
    return jsonrpc_of(await http.post(url, json=body, headers=headers))


async def test_a_request_state_replayed_on_another_tenant_is_refused_and_the_owner_can_still_finish(
    tenants: Tenants, tmp_path: Path
) -> None:
    old = ServerProcess.everything(tmp_path, "--legacy-only").start()
    try:
        out = tenants.gw.cli_batch(
            [
                *(["tenant", "create", slug] for slug in ("park-a", "park-b")),
                *(["tool", "enable", "*", "--tenant", slug] for slug in ("park-a", "park-b")),
                *(["upstream", "add", "old", "--tenant", slug, "--url", old.url] for slug in ("park-a", "park-b")),
                *(["token", "create", "--tenant", slug] for slug in ("park-a", "park-b")),
            ]
        )
        token_a, token_b = (o["stdout"].strip().splitlines()[-1] for o in out[-2:])
        tenants.gw.wait_accepts("park-b", token_b)
        tenants.gw.wait_accepts("park-a", token_a)
        async with httpx2.AsyncClient(timeout=30) as http:
            first = (await _ask(http, tenants.url("park-a"), token_a))["result"]
            assert first["resultType"] == "input_required"
            ((key, _),) = first["inputRequests"].items()
            answer = {"inputResponses": {key: {"action": "accept", "content": {"colour": "red"}}}}
            retry = {**answer, "requestState": first["requestState"]}
            stolen = await _ask(http, tenants.url("park-b"), token_b, retry)
            owned = await _ask(http, tenants.url("park-a"), token_a, retry)
            replayed = await _ask(http, tenants.url("park-a"), token_a, retry)
    finally:
        old.stop()
    assert stolen["error"]["message"] == "Invalid or expired requestState"
    assert owned["result"]["content"][0]["text"] == "accept:red", "the other tenant's replay destroyed the call"
    assert replayed["error"]["message"] == "Invalid or expired requestState"
