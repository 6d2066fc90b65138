"""The benchmark's upstream: an MCP server exposing one cheap tool, `echo`.

Built on the installed `mcp` SDK's low-level `Server` so that every target (direct, MSPlex, the
peers) talks to the same code. Served over Streamable HTTP (JSON responses, stateless for legacy
clients: no per-session state to skew long runs) or over stdio (for proxies that spawn a child).

Run: `python -m bench.upstream --port 8123` or `python -m bench.upstream --stdio`.
The HTTP form prints `READY <port>` on stdout once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from typing import Any

import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.transport_security import TransportSecuritySettings

__all__ = ["ECHO_TOOL", "build_server", "main"]

ECHO_TOOL = types.Tool(
    name="echo",
    description="Return the given text unchanged.",
    input_schema={
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    },
)


async def _list_tools(_ctx: Any, _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[ECHO_TOOL])


async def _call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    if params.name != "echo":
        return types.CallToolResult(content=[types.TextContent(text=f"unknown tool {params.name}")], is_error=True)
    text = str((params.arguments or {}).get("text", ""))
    return types.CallToolResult(content=[types.TextContent(text=text)])


def build_server() -> Server[Any]:
    """One `Server` per process; handlers are stateless, so any transport may share it."""
    return Server("bench-echo", version="1.0.0", on_list_tools=_list_tools, on_call_tool=_call_tool)


async def _serve_http(host: str, port: int, stateful: bool) -> None:
    import uvicorn

    app = build_server().streamable_http_app(
        json_response=True,
        stateless_http=not stateful,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=host,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", loop="uvloop", http="httptools")
    server = uvicorn.Server(config)

    async def _announce() -> None:
        for _ in range(6000):
            if server.started:
                break
            await asyncio.sleep(0.01)
        print(f"READY {sock.getsockname()[1]}", flush=True)

    announce = asyncio.create_task(_announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        announce.cancel()


async def _serve_stdio() -> None:
    from mcp.server.stdio import stdio_server

    server = build_server()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on READY)")
    parser.add_argument("--stdio", action="store_true", help="serve one client on stdin/stdout")
    parser.add_argument("--stateful", action="store_true", help="legacy sessions kept server-side")
    args = parser.parse_args(argv)
    try:
        if args.stdio:
            import anyio

            anyio.run(_serve_stdio)
        else:
            import uvloop

            uvloop.run(_serve_http(args.host, args.port, args.stateful))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
