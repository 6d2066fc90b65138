"""One regression test per defect found by probing the running core as a hostile user would."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import orjson
import pytest
from e2e_support import Deployment
from mcp_types.methods import parse_server_notification, validate_server_result

from support.gateway import jsonrpc_of, legacy_headers, modern_request, open_legacy_session, rpc

MODERN = "2026-07-28"
INVALID_REQUEST, INVALID_PARAMS = -32600, -32602


@pytest.fixture(scope="module")
async def session(deployment: Deployment) -> str:
    async with httpx2.AsyncClient(timeout=30) as http:
        return await open_legacy_session(http, deployment.url, deployment.token)


@pytest.mark.parametrize(
    ("raw_id", "why"),
    [
        (b"1" + b"0" * 40, "an integer beyond 64 bits"),
        (b"null", "null"),
        (b"1.5", "a fraction"),
        (b'{"a": 1}', "an object"),
        (b"true", "a boolean"),
    ],
)
async def test_legacy_ids_that_cannot_be_echoed_unchanged_are_refused(
    deployment: Deployment, session: str, raw_id: bytes, why: str
) -> None:
    body = b'{"jsonrpc": "2.0", "id": ' + raw_id + b', "method": "ping"}'
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(deployment.url, content=body, headers=legacy_headers(deployment.token, session))
    assert response.status_code == 400, why
    doc = response.json()
    assert doc["error"]["code"] == INVALID_REQUEST and doc["id"] is None, why


async def test_a_large_integer_id_comes_back_exactly(deployment: Deployment, session: str) -> None:
    big = 2**62 + 12345
    body = b'{"jsonrpc": "2.0", "id": ' + str(big).encode() + b', "method": "ping"}'
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(deployment.url, content=body, headers=legacy_headers(deployment.token, session))
    assert response.status_code == 200
    assert f'"id":{big}'.encode() in response.content


async def test_a_bogus_log_level_in_meta_is_refused_at_the_edge(deployment: Deployment) -> None:
    headers, body = modern_request("tools/call", {"name": "ev__echo", "arguments": {"text": "x"}}, deployment.token)
    headers["Mcp-Name"] = "ev__echo"
    body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = "loud"
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(deployment.url, json=body, headers=headers)
    assert response.status_code == 400
    error = jsonrpc_of(response)["error"]
    assert error["code"] == INVALID_PARAMS and "loud" in error["message"] and "warning" in error["message"]


@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_tools_call_without_a_name_says_the_parameter_is_missing(
    deployment: Deployment, session: str, era: str
) -> None:
    async with httpx2.AsyncClient(timeout=30) as http:
        if era == "legacy":
            message = rpc("tools/call", {"arguments": {}})
            response = await http.post(deployment.url, json=message, headers=legacy_headers(deployment.token, session))
        else:
            headers, body = modern_request("tools/call", {"arguments": {}}, deployment.token)
            response = await http.post(deployment.url, json=body, headers=headers)
    error = jsonrpc_of(response)["error"]
    assert error["code"] == INVALID_PARAMS
    assert "None" not in error["message"] and "'name' parameter" in error["message"]


@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_a_client_accepting_only_json_gets_json(deployment: Deployment, session: str, era: str) -> None:
    """Released Claude Code and VS Code versions sent ``Accept: application/json`` alone and got 406."""
    calls = [("ev__echo", {"text": "plain"}), ("ev__progress", {"_meta": {"progressToken": 1}})]
    async with httpx2.AsyncClient(timeout=30) as http:
        responses = []
        for name, extra in calls:
            params = {"name": name, "arguments": {}, **extra}
            if name == "ev__echo":
                params["arguments"] = {"text": "plain"}
            if era == "legacy":
                headers = legacy_headers(deployment.token, session)
                message = rpc("tools/call", params)
            else:
                headers, message = modern_request("tools/call", params, deployment.token, name)
                message["params"]["_meta"].update(extra.get("_meta", {}))
            headers["Accept"] = "application/json"
            responses.append(await http.post(deployment.url, json=message, headers=headers))
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
    texts = [r.json()["result"]["content"][0]["text"] for r in responses]
    assert texts == ["plain", "progressed"]  # the progress notifications were dropped, the answer was not


async def test_every_modern_result_matches_the_official_schema(deployment: Deployment) -> None:
    """The discover result lacked ``ttlMs`` and ``cacheScope``, so strict clients fell back to the legacy era."""
    calls: list[tuple[str, dict[str, Any], str | None]] = [
        ("server/discover", {}, None),
        ("tools/list", {}, None),
        ("tools/call", {"name": "ev__echo", "arguments": {"text": "hi"}}, "ev__echo"),
        ("tools/call", {"name": "old__ask", "arguments": {}}, "old__ask"),
        ("tools/call", {"name": "ev__ask", "arguments": {}}, "ev__ask"),
        ("resources/list", {}, None),
        ("resources/templates/list", {}, None),
        ("resources/read", {"uri": "ev+test://watched"}, "ev+test://watched"),
        ("prompts/list", {}, None),
    ]
    checked = []
    async with httpx2.AsyncClient(timeout=30) as http:
        for method, params, name in calls:
            headers, body = modern_request(method, params, deployment.token, name)
            response = await http.post(deployment.url, json=body, headers=headers)
            result = jsonrpc_of(response)["result"]
            validate_server_result(method, MODERN, result)
            checked.append((method, result.get("resultType")))
        headers, body = modern_request(
            "subscriptions/listen", {"notifications": {"toolsListChanged": True}}, deployment.token
        )
        async with http.stream("POST", deployment.url, json=body, headers=headers) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    message = orjson.loads(line[5:])
                    parse_server_notification(message["method"], MODERN, message.get("params"))
                    checked.append((message["method"], None))
                    break
    assert ("tools/call", "input_required") in checked  # both bridged and passed-through input requests
    assert len(checked) == len(calls) + 1, json.dumps(checked)
