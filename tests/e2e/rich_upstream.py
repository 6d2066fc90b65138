"""A dual-era upstream with the catalogue features the end-to-end tests check pass through intact.

Run as ``python rich_upstream.py --port N`` (Streamable HTTP on 127.0.0.1, path /mcp).

* Tools: ``weather`` (title, annotations, icons, ``outputSchema``; answers with
  ``structuredContent``) and ``bulk000``..``bulk119`` (so a catalogue needs
  more than one gateway page), listed in pages of ``PAGE``.
* Resources: ``docs://readme``; template ``docs://page/{n}``.
* Prompts: ``greet(name)``. Completion: prompt argument ``name`` and the
  template's ``n``.
* ``grow`` really changes the tool list (adds ``extraN``) and says so: on the
  legacy session and to ``subscriptions/listen`` streams.

``--legacy-only`` answers 2026-07-28 requests like a legacy-only server (400).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged

PAGE = 50
ICON = types.Icon(src="https://example.invalid/sun.png", mime_type="image/png", sizes=["48x48"])
WEATHER = types.Tool(
    name="weather",
    title="Weather report",
    description="Reports the weather of a city.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    output_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["city", "celsius"],
    },
    annotations=types.ToolAnnotations(
        title="Weather", read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
    icons=[ICON],
)
TOOLS = [WEATHER] + [
    types.Tool(name=f"bulk{i:03d}", input_schema={"type": "object", "properties": {}}) for i in range(120)
]
TOOLS.append(types.Tool(name="grow", input_schema={"type": "object", "properties": {}}))
NAMES = ["albert", "alice", "bob"]
BUS = InMemorySubscriptionBus()


async def list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    start = int(params.cursor) if params is not None and params.cursor else 0
    nxt = str(start + PAGE) if start + PAGE < len(TOOLS) else None
    return types.ListToolsResult(tools=TOOLS[start : start + PAGE], next_cursor=nxt)


async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "weather":
        data = {"city": str(args.get("city", "")), "celsius": 21.5}
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=f"{data['city']}: 21.5 C")], structured_content=data
        )
    if params.name == "grow":
        name = f"extra{sum(t.name.startswith('extra') for t in TOOLS)}"
        TOOLS.append(types.Tool(name=name, input_schema={"type": "object", "properties": {}}))
        await BUS.publish(ToolsListChanged())
        if ctx.protocol_version < "2026":
            await ctx.session.send_tool_list_changed()
        return types.CallToolResult(content=[types.TextContent(type="text", text=name)])
    return types.CallToolResult(content=[types.TextContent(type="text", text=params.name)])


async def list_resources(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListResourcesResult:
    return types.ListResourcesResult(
        resources=[types.Resource(uri="docs://readme", name="readme", mime_type="text/plain", icons=[ICON])]
    )


async def list_templates(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(
        resource_templates=[types.ResourceTemplate(uri_template="docs://page/{n}", name="page", mime_type="text/plain")]
    )


async def read_resource(
    ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
) -> types.ReadResourceResult:
    uri = str(params.uri)
    text = "read me" if uri == "docs://readme" else f"page {uri.rsplit('/', 1)[-1]}"
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, text=text, mime_type="text/plain")])


async def list_prompts(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListPromptsResult:
    arg = types.PromptArgument(name="name", description="Who to greet", required=True)
    return types.ListPromptsResult(prompts=[types.Prompt(name="greet", title="Greeting", arguments=[arg])])


async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> types.GetPromptResult:
    name = (params.arguments or {}).get("name", "you")
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=f"Hello, {name}!"))
    return types.GetPromptResult(description="A greeting", messages=[message])


async def complete(ctx: ServerRequestContext[Any], params: types.CompleteRequestParams) -> types.CompleteResult:
    prefix = params.argument.value
    if isinstance(params.ref, types.PromptReference):
        values = [n for n in NAMES if n.startswith(prefix)]
    else:
        values = [n for n in ("1", "2", "3") if n.startswith(prefix)]
    return types.CompleteResult(completion=types.Completion(values=values, total=len(values), has_more=False))


def legacy_only(app: Any) -> Any:
    """ASGI wrapper: a 2026-07-28 request gets what a legacy-only server answers (400, plain text)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"mcp-protocol-version", b"").startswith(b"2026"):
            await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Bad Request: Server not initialized"})
            return
        await app(scope, receive, send)

    return wrapped


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--legacy-only", action="store_true")
    args = parser.parse_args()
    server: Server[Any] = Server(
        "rich-upstream",
        version="1.0.0",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
        on_subscriptions_listen=ListenHandler(BUS),
    )
    app = server.streamable_http_app()
    if args.legacy_only:
        app = legacy_only(app)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=0.5
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
