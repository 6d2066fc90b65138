"""Scale-out: two gateway processes on one PostgreSQL and one Redis, and any replica serves any request.

What a replica keeps only in its memory (an open upstream request, a client's streams) must not
tie a client to it: the tests below send the second half of each exchange to the other replica.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx2
import orjson
import pytest
import sqlalchemy as sa
from e2e_support import eventually, rich_upstream

from msplex.store import make_engine
from support.gateway import (
    EVERYTHING,
    GatewayProcess,
    ServerProcess,
    jsonrpc_of,
    legacy_headers,
    modern_request,
    open_legacy_session,
    rpc,
    start_all,
    stop_all,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

POSTGRES = os.environ.get("MSPLEX_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MSPLEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class Pair:
    a: GatewayProcess
    b: GatewayProcess
    token: str

    def url(self, which: str) -> str:
        return (self.a if which == "a" else self.b).url("scale")


async def _database(unavailable: Callable[[str, str], NoReturn]) -> str:
    """A fresh PostgreSQL database for the pair (dropped afterwards)."""
    name = f"msplex_scale_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable(f"PostgreSQL at {POSTGRES}", f"{type(exc).__name__}: {str(exc)[:120]}")
    finally:
        await admin.dispose()
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}"


async def _drop(url: str) -> None:
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _redis(unavailable: Callable[[str, str], NoReturn]) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS)
    try:
        await client.ping()
    except Exception as exc:
        unavailable(f"Redis at {REDIS}", f"{type(exc).__name__}: {str(exc)[:120]}")
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
async def pair(
    tmp_path_factory: pytest.TempPathFactory, unavailable: Callable[[str, str], NoReturn]
) -> AsyncIterator[Pair]:
    await _redis(unavailable)
    database = await _database(unavailable)
    root = tmp_path_factory.mktemp("scale")
    env = {"MSPLEX_DATABASE_URL": database, "MSPLEX_REDIS_URL": REDIS}
    a = GatewayProcess(root / "a", env=env)
    b = GatewayProcess(root / "b", env=env, secret_key=a.secret_key)
    old = ServerProcess.everything(root, "--legacy-only")
    grows = rich_upstream(root, "--legacy-only")
    try:
        old.launch()
        grows.launch()
        out = a.cli_batch(
            [
                ["tenant", "create", "scale"],
                ["tool", "enable", "*", "--tenant", "scale", "--kind", "all"],
                ["upstream", "add", "old", "--tenant", "scale", "--url", old.url],
                ["upstream", "add", "rl", "--tenant", "scale", "--url", grows.url],
                ["upstream", "add", "sio", "--tenant", "scale", "--command", f"{sys.executable} {EVERYTHING} --stdio"],
                ["token", "create", "--tenant", "scale"],
            ]
        )
        token = out[-1]["stdout"].strip().splitlines()[-1]
        start_all(old, grows, a, b)
        yield Pair(a, b, token)
    finally:
        stop_all(a, b, old, grows)
        await _drop(database)


def _events(chunk: str) -> Iterator[dict[str, Any]]:
    for line in chunk.splitlines():
        if line.startswith("data:"):
            yield orjson.loads(line[5:].strip())


async def test_a_legacy_clients_answer_reaching_the_other_replica_completes_the_call(pair: Pair) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, pair.url("a"), pair.token)
        headers = legacy_headers(pair.token, session)
        call = rpc("tools/call", {"name": "old__ask", "arguments": {}}, rid=7)
        seen: list[dict[str, Any]] = []
        async with http.stream("POST", pair.url("a"), json=call, headers=headers) as stream:
            async for line in stream.aiter_lines():
                seen.extend(_events(line))
                asks = [m for m in seen if m.get("method") == "elicitation/create"]
                if asks and not any("answered" in m for m in seen):
                    answer = {
                        "jsonrpc": "2.0",
                        "id": asks[0]["id"],
                        "result": {"action": "accept", "content": {"colour": "teal"}},
                    }
                    posted = await http.post(pair.url("b"), json=answer, headers=headers)
                    assert posted.status_code == 202, posted.text
                    seen.append({"answered": True})
                if any(m.get("id") == 7 for m in seen):
                    break
    final = next(m for m in seen if m.get("id") == 7)
    assert final["result"]["content"][0]["text"] == "accept:teal"


async def test_a_modern_clients_retry_of_a_parked_call_on_the_other_replica_completes_it(pair: Pair) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        headers, body = modern_request("tools/call", {"name": "old__ask", "arguments": {}}, pair.token, "old__ask")
        first = jsonrpc_of(await http.post(pair.url("a"), json=body, headers=headers))["result"]
        assert first["resultType"] == "input_required"
        ((key, request),) = first["inputRequests"].items()
        assert request["method"] == "elicitation/create"
        retry = {
            **body["params"],
            "inputResponses": {key: {"action": "accept", "content": {"colour": "amber"}}},
            "requestState": first["requestState"],
        }
        headers, body = modern_request("tools/call", retry, pair.token, "old__ask")
        done = jsonrpc_of(await http.post(pair.url("b"), json=body, headers=headers))
        replay = jsonrpc_of(await http.post(pair.url("a"), json=body, headers=headers))
    assert done["result"]["content"][0]["text"] == "accept:amber"
    assert replay["error"]["message"] == "Invalid or expired requestState"  # one retry takes a parked call


async def test_list_changed_seen_by_one_replica_reaches_a_client_streaming_from_the_other(pair: Pair) -> None:
    """``rl`` tells only the upstream session that called ``grow`` (replica a's); the client streams from b."""
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, pair.url("b"), pair.token)
        headers = legacy_headers(pair.token, session)
        settled = await http.post(pair.url("b"), json=rpc("tools/list", {}, rid=1), headers=headers)
        assert settled.status_code == 200  # b has listed every upstream: no start-up change is still to come
        heard: list[dict[str, Any]] = []

        async def listen() -> None:
            async with http.stream("GET", pair.url("b"), headers={**headers, "Accept": "text/event-stream"}) as stream:
                async for line in stream.aiter_lines():
                    heard.extend(_events(line))

        listener = asyncio.create_task(listen())
        try:
            await asyncio.sleep(0.3)
            before = len(heard)
            grown = await http.post(
                pair.url("a"), json=rpc("tools/call", {"name": "rl__grow", "arguments": {}}), headers=headers
            )
            added = jsonrpc_of(grown)["result"]["content"][0]["text"]

            async def notified() -> bool:
                return any(m.get("method") == "notifications/tools/list_changed" for m in heard[before:])

            await eventually(notified, within=5, what="tools/list_changed on replica b's stream")
            names: list[str] = []
            cursor: str | None = None
            while True:
                params = {"cursor": cursor} if cursor else {}
                page = jsonrpc_of(
                    await http.post(pair.url("b"), json=rpc("tools/list", params, rid=2), headers=headers)
                )
                names += [t["name"] for t in page["result"]["tools"]]
                if not (cursor := page["result"].get("nextCursor")):
                    break
        finally:
            listener.cancel()
    assert f"rl__{added}" in names


async def test_a_session_deleted_on_one_replica_is_ended_on_all(pair: Pair) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await open_legacy_session(http, pair.url("a"), pair.token)
        headers = legacy_headers(pair.token, session)
        served = await http.post(pair.url("a"), json=rpc("tools/list", {}, rid=1), headers=headers)
        ended = await http.delete(pair.url("b"), headers=headers)
        assert (served.status_code, ended.status_code) == (200, 200)
        deadline = time.monotonic() + 3
        while True:
            after = await http.post(pair.url("a"), json=rpc("tools/list", {}, rid=2), headers=headers)
            if after.status_code != 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    assert after.status_code == 404


def test_each_replica_says_which_shared_state_it_uses(pair: Pair) -> None:
    for gateway in (pair.a, pair.b):
        assert "shared state: redis" in gateway.log_text()
