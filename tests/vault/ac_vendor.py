"""A vendor whose credential is OAuth 2 authorization code with PKCE (as NinjaOne's user context), for the
``msplex connector authorize`` test; loaded through ``MSPLEX_VENDOR_MODULES``."""

from __future__ import annotations

from typing import Any

from msplex.connectors.framework import AuthorizationCode, Flag, ToolContext, ToolSpec, Vendor


async def me(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await ctx.http.get("/api/me")
    return result


async def validate(ctx: ToolContext) -> None:
    await ctx.http.get("/api/me")


VENDOR = Vendor(
    kind="acvendor",
    title="AC Vendor",
    credential=AuthorizationCode(
        authorize_url=lambda c: f"{c.base_url}/oauth/authorize",
        token_url=lambda c: f"{c.base_url}/oauth/token",
        scope="monitoring management",
    ),
    flags=(
        Flag("client_id", "--client-id", "The API application's client id."),
        Flag("client_secret", "--client-secret", "The API application's client secret.", secret=True),
    ),
    tools=(ToolSpec("me", "Who am I.", {"type": "object"}, {"type": "object"}, me, read_only=True),),
    validate=validate,
)
