"""The federated catalogue through the gateway, with the SDK client in both eras."""

from __future__ import annotations

import mcp_types as types
import pytest
from e2e_support import Deployment, all_tools

from support.gateway import connect

MODES = ["legacy", "2026-07-28"]
FIXTURE_TOOLS = 12 + 25  # everything.py: base tools + t00..t24


@pytest.mark.parametrize("mode", MODES)
async def test_tools_list_merges_names_in_order_across_pages(deployment: Deployment, mode: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:
        tools, pages = await all_tools(client)
        again, _ = await all_tools(client)
    names = [t.name for t in tools]
    assert pages >= 3  # 233 tools, 100 a page
    assert len(names) == len(set(names)) == 3 * FIXTURE_TOOLS + 122
    assert names == sorted(names)
    assert names == [t.name for t in again]
    for upstream in ("ev", "old", "sio"):
        assert f"{upstream}__echo" in names
        assert f"{upstream}__t24" in names
    assert {f"rich__bulk{i:03d}" for i in range(120)} <= set(names)


@pytest.mark.parametrize("mode", MODES)
async def test_tool_metadata_and_structured_output_pass_through(deployment: Deployment, mode: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:
        tools, _ = await all_tools(client)
        weather = next(t for t in tools if t.name == "rich__weather")
        result = await client.call_tool("rich__weather", {"city": "Oslo"})
    assert weather.title == "Weather report"
    assert weather.description == "Reports the weather of a city."
    assert weather.annotations == types.ToolAnnotations(
        title="Weather", read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    assert weather.icons is not None and [i.src for i in weather.icons] == ["https://example.invalid/sun.png"]
    assert weather.icons[0].mime_type == "image/png" and weather.icons[0].sizes == ["48x48"]
    assert weather.output_schema is not None and weather.output_schema["required"] == ["city", "celsius"]
    assert weather.input_schema["required"] == ["city"]
    assert not result.is_error
    assert result.structured_content == {"city": "Oslo", "celsius": 21.5}
    assert isinstance(result.content[0], types.TextContent) and result.content[0].text == "Oslo: 21.5 C"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("upstream", ["ev", "old", "sio"])
async def test_tools_call_reaches_each_upstream(deployment: Deployment, mode: str, upstream: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:
        result = await client.call_tool(f"{upstream}__echo", {"text": f"hi {upstream}"})
    assert not result.is_error
    assert isinstance(result.content[0], types.TextContent) and result.content[0].text == f"hi {upstream}"


@pytest.mark.parametrize("mode", MODES)
async def test_resources_list_and_read_use_public_uris(deployment: Deployment, mode: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:
        listed = await client.list_resources()
        uris = [str(r.uri) for r in listed.resources]
        readme = await client.read_resource("rich+docs://readme")
        watched = await client.read_resource("old+test://watched")
        templates = await client.list_resource_templates()
        page = await client.read_resource("rich+docs://page/7")
    assert {"rich+docs://readme", "ev+test://watched", "old+test://watched", "sio+test://watched"} <= set(uris)
    assert uris == sorted(uris)
    readme_item = next(r for r in listed.resources if str(r.uri) == "rich+docs://readme")
    assert readme_item.icons is not None and readme_item.icons[0].src == "https://example.invalid/sun.png"
    assert [(str(c.uri), c.text) for c in readme.contents] == [("rich+docs://readme", "read me")]  # type: ignore[union-attr]
    assert [(str(c.uri), c.text) for c in watched.contents] == [("old+test://watched", "watched text")]  # type: ignore[union-attr]
    assert [t.uri_template for t in templates.resource_templates] == ["rich+docs://page/{n}"]
    assert [(str(c.uri), c.text) for c in page.contents] == [("rich+docs://page/7", "page 7")]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_prompts_and_completion(deployment: Deployment, mode: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:
        prompts = await client.list_prompts()
        got = await client.get_prompt("rich__greet", {"name": "Ada"})
        by_prompt = await client.complete(
            types.PromptReference(type="ref/prompt", name="rich__greet"), {"name": "name", "value": "al"}
        )
        by_template = await client.complete(
            types.ResourceTemplateReference(type="ref/resource", uri="rich+docs://page/{n}"),
            {"name": "n", "value": "2"},
        )
    assert [p.name for p in prompts.prompts] == ["rich__greet"]
    assert prompts.prompts[0].title == "Greeting"
    assert prompts.prompts[0].arguments is not None and prompts.prompts[0].arguments[0].name == "name"
    assert got.description == "A greeting"
    message = got.messages[0]
    assert message.role == "user" and isinstance(message.content, types.TextContent)
    assert message.content.text == "Hello, Ada!"
    assert by_prompt.completion.values == ["albert", "alice"]
    assert by_template.completion.values == ["2"]


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_names_are_typed_errors(deployment: Deployment, mode: str) -> None:
    async with connect(deployment.url, deployment.token, mode) as client:
        with pytest.raises(Exception) as tool_error:
            await client.session.call_tool("nope__echo", {})
        with pytest.raises(Exception) as read_error:
            await client.read_resource("nope+test://x")
        with pytest.raises(Exception) as prompt_error:
            await client.get_prompt("ev__nope", {})
        # The gateway keeps serving this client.
        assert (await client.call_tool("ev__echo", {"text": "still"})).content[0].text == "still"  # type: ignore[union-attr]
    for error in (tool_error, read_error, prompt_error):
        assert getattr(error.value, "code", None) == types.INVALID_PARAMS, error.value
