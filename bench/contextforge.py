"""IBM ContextForge (`mcp-contextforge-gateway` from PyPI) as a benchmark target.

Started headless the way its docs describe (`mcpgateway` = uvicorn on `mcpgateway.main:app`, one
process), configured only through environment variables, with a fresh SQLite database under the
run directory. Deviations from its shipped defaults, each needed to benchmark at all:
  - RATE_LIMITING_ENABLED=false: the default 100 tool calls/minute would turn the load into 429s;
  - SSRF_ALLOW_LOCALHOST=true: the echo upstream lives on 127.0.0.1;
  - UI, admin API, LLM chat and plugins off, LOG_LEVEL=WARNING (less noise, less work).
The echo upstream is registered with POST /gateways, exposed in a virtual server (POST /servers)
and called at `/servers/{id}/mcp` with a JWT minted by its own documented token tool.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bench.peers import CONTEXTFORGE, ensure_venv
from bench.procs import StartError, free_port, run_cmd, spawn, wait_http
from bench.runner import Endpoint
from bench.targets import Context

__all__ = ["contextforge"]

_ADMIN = "admin@example.com"


def _env(ctx: Context, port: int, jwt_secret: str) -> dict[str, str]:
    state = ctx.run_dir / "contextforge"
    state.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCPGATEWAY_", "MCG_"))}
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{state / 'mcp.db'}",
            "JWT_SECRET_KEY": jwt_secret,
            "AUTH_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
            "BASIC_AUTH_USER": "admin",
            "BASIC_AUTH_PASSWORD": secrets.token_urlsafe(18) + "Aa1!",
            "PLATFORM_ADMIN_EMAIL": _ADMIN,
            "PLATFORM_ADMIN_PASSWORD": secrets.token_urlsafe(18) + "Aa1!",
            "MCPGATEWAY_UI_ENABLED": "false",
            "MCPGATEWAY_ADMIN_API_ENABLED": "false",
            "LLMCHAT_ENABLED": "false",
            "PLUGINS_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITING_ENABLED": "false",
            "SSRF_ALLOW_LOCALHOST": "true",
            "ENVIRONMENT": "development",
        }
    )
    return env


async def _api(http: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        data = await resp.json(content_type=None)
        if resp.status >= 300:
            raise StartError(f"ContextForge {method} {url.split('/', 3)[-1]} → HTTP {resp.status}: {str(data)[:300]}")
        return data


@asynccontextmanager
async def contextforge(ctx: Context) -> AsyncIterator[Endpoint]:
    bindir = await ensure_venv(CONTEXTFORGE, ctx.cache_dir)
    port = free_port()
    jwt_secret = secrets.token_urlsafe(48)
    env = _env(ctx, port, jwt_secret)
    log = ctx.run_dir / "contextforge.log"
    base = f"http://127.0.0.1:{port}"
    argv = [str(bindir / "mcpgateway"), "--host", "127.0.0.1", "--port", str(port)]
    async with spawn(argv, log=log, env=env, cwd=ctx.run_dir / "contextforge") as proc:
        await wait_http(f"{base}/health", proc=proc, log=log, limit_s=180)
        out = await run_cmd(
            [
                str(bindir / "python"),
                "-m",
                "mcpgateway.utils.create_jwt_token",
                "--username",
                _ADMIN,
                "--admin",
                "--exp",
                "120",
                "--secret",
                jwt_secret,
            ],
            env=env,
            cwd=ctx.run_dir / "contextforge",
        )
        token = out.strip().splitlines()[0] if out.strip() else ""
        if not token:
            raise StartError("ContextForge's create_jwt_token printed no token")
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            gw = await _api(
                http,
                "POST",
                f"{base}/gateways",
                token,
                {"name": "echo", "url": ctx.upstream_url, "transport": "STREAMABLEHTTP"},
            )
            tools = await _api(http, "GET", f"{base}/tools", token)
            mine = [t for t in tools if t.get("gatewayId") == gw["id"] and t.get("originalName") == "echo"]
            if not mine:
                raise StartError(f"ContextForge registered the upstream but lists no echo tool: {str(tools)[:300]}")
            server = await _api(
                http,
                "POST",
                f"{base}/servers",
                token,
                {"server": {"name": "bench", "associated_tools": [mine[0]["id"]]}},
            )
        yield Endpoint(
            url=f"{base}/servers/{server['id']}/mcp",
            tool=str(mine[0]["name"]),
            roots=(proc.pid,),
            headers={"Authorization": f"Bearer {token}"},
            upstream_roots=(ctx.upstream_pid,),
        )
