"""The npm peers helper drives the real inspector CLI and server-everything.

These are the legacy-era client and upstream the gateway's e2e tests use; here
they run against the conformance fixture and each other, without the gateway.
"""

from __future__ import annotations

import pytest

from support.npm_peers import everything_http, everything_stdio_command, run_inspector

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("node_tools"), pytest.mark.timeout(180)]


async def test_inspector_lists_and_calls_fixture_tools(conformance_fixture_url: str) -> None:
    listed = (await run_inspector(conformance_fixture_url, "--method", "tools/list")).json()
    names = {tool["name"] for tool in listed["tools"]}
    assert {"test_simple_text", "test_sampling", "json_schema_2020_12_tool"} <= names

    called = await run_inspector(conformance_fixture_url, "--method", "tools/call", "--tool-name", "test_simple_text")
    assert called.json()["content"] == [{"type": "text", "text": "This is a simple text response for testing."}]


async def test_inspector_reports_unknown_tool_as_error(conformance_fixture_url: str) -> None:
    result = await run_inspector(conformance_fixture_url, "--method", "tools/call", "--tool-name", "no_such_tool")
    body = result.json() if result.returncode == 0 else None
    assert result.returncode != 0 or body["isError"] is True


async def test_everything_over_http_answers_the_inspector() -> None:
    async with everything_http() as url:
        result = await run_inspector(
            url, "--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=2", "b=3"
        )
    assert result.json()["content"][0]["text"] == "The sum of 2 and 3 is 5."


async def test_everything_over_stdio_lists_prompts() -> None:
    result = await run_inspector(everything_stdio_command(), "--method", "prompts/list", transport=None)
    assert "simple-prompt" in {prompt["name"] for prompt in result.json()["prompts"]}
