"""A revoked token stops working everywhere within two seconds: new requests, open legacy sessions,
and streams already open (which are closed)."""

from __future__ import annotations

import asyncio
import time

import httpx2
from e2e_support import Deployment

from support.gateway import jsonrpc_of, legacy_headers, modern_request, open_legacy_session, rpc


async def test_revoking_a_token_ends_its_sessions_and_streams_within_two_seconds(deployment: Deployment) -> None:
    gw = deployment.gw
    code, out, _ = await gw.acli("token", "create", "--tenant", "acme", "--name", "doomed")
    token = out.strip().splitlines()[-1]
    token_id = out.split("(id ")[1].split(")")[0]
    await asyncio.to_thread(gw.wait_accepts, "acme", token)
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, deployment.url, token)
        headers = legacy_headers(token, session)
        stream_ended = asyncio.get_running_loop().create_future()

        async def legacy_stream() -> None:
            async with http.stream("GET", deployment.url, headers={**headers, "Accept": "text/event-stream"}) as s:
                async for _ in s.aiter_raw():
                    pass
            stream_ended.set_result(time.monotonic())

        modern_headers, listen = modern_request(
            "subscriptions/listen", {"notifications": {"toolsListChanged": True}}, token
        )
        listen_ended = asyncio.get_running_loop().create_future()

        async def modern_stream() -> None:
            async with http.stream("POST", deployment.url, json=listen, headers=modern_headers) as s:
                async for _ in s.aiter_raw():
                    pass
            listen_ended.set_result(time.monotonic())

        tasks = [asyncio.create_task(legacy_stream()), asyncio.create_task(modern_stream())]
        await asyncio.sleep(0.5)
        before = await http.post(deployment.url, json=rpc("tools/list", {}, rid=2), headers=headers)
        await gw.acli("token", "revoke", token_id, "--tenant", "acme")
        revoked_at = time.monotonic()
        ended = await asyncio.wait_for(asyncio.gather(stream_ended, listen_ended), 10)
        after = await http.post(deployment.url, json=rpc("tools/list", {}, rid=3), headers=headers)
        for task in tasks:
            task.cancel()
    assert code == 0 and before.status_code == 200
    assert all(when - revoked_at < 2.0 for when in ended), [round(when - revoked_at, 2) for when in ended]
    assert after.status_code == 401 and "unknown or revoked" in jsonrpc_of(after)["error"]["message"]
