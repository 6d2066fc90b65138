"""A tiny vendor ("widgets") and its fake, exercising the framework end to end.

The fake: ``x-api-key`` auth, 1-based paging with a total, a 429 with ``Retry-After`` on demand,
records owned by two customers (``c1``, ``c2``), a secret field, and a write. It doubles as the
worked example of a vendor module for the real connectors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aiohttp import web

from msplex.connectors.framework import (
    ApiKeyHeader,
    Company,
    Condition,
    Effects,
    Flag,
    RateLimit,
    ToolContext,
    ToolSpec,
    Vendor,
    When,
    page_input,
    page_result,
    paged_output,
    registry,
)
from support.local_http import serve

KEY = "wk-0123456789abcdef"
WIDGET = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "company_id": {"type": "integer"},
        "password": {"type": ["string", "null"]},
        "notes": {"type": "string"},
    },
}


class Fake:
    def __init__(self) -> None:
        self.widgets: list[dict[str, Any]] = [
            {
                "id": i,
                "name": f"widget {i}",
                "company_id": 1 if i <= 30 else 2,
                "password": f"pw-secret-{i}",
                "notes": f"login with pw-secret-{i}",
            }
            for i in range(1, 41)
        ]
        self.companies = [{"id": 1, "name": "Contoso Ltd"}, {"id": 2, "name": "Fabrikam"}]
        self.throttle = 0
        """The next N requests get a 429 with Retry-After: 1."""
        self.requests: list[web.Request] = []

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/api/widgets", self._list)
        app.router.add_get("/api/widgets/{id}", self._get)
        app.router.add_post("/api/widgets/{id}/notes", self._note)
        app.router.add_get("/api/companies", self._companies)
        return app

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request)
        if request.headers.get("x-api-key") != KEY:
            return web.json_response({"error": "Invalid API key"}, status=401)
        if self.throttle > 0:
            self.throttle -= 1
            return web.Response(status=429, text="Retry later", headers={"Retry-After": "1"})
        return await handler(request)

    async def _list(self, request: web.Request) -> web.Response:
        items = self.widgets
        if "company_id" in request.query:
            items = [w for w in items if str(w["company_id"]) == request.query["company_id"]]
        page, size = int(request.query.get("page", 1)), int(request.query.get("page_size", 25))
        return web.json_response({"widgets": items[(page - 1) * size : page * size], "total": len(items)})

    async def _get(self, request: web.Request) -> web.Response:
        found = [w for w in self.widgets if str(w["id"]) == request.match_info["id"]]
        if not found:
            return web.json_response({"message": "Widget not found"}, status=404)
        return web.json_response(found[0])

    async def _note(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("text"):
            return web.json_response({"errors": ["text can't be blank"]}, status=422)
        return web.json_response({"id": 99, "widget_id": int(request.match_info["id"]), **body})

    async def _companies(self, request: web.Request) -> web.Response:
        return web.json_response({"companies": self.companies})


async def list_widgets(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    page, size = args.get("page", 1), args.get("page_size", 25)
    company = ctx.scope.pin(args.get("company_id"))
    body = await ctx.http.get("/api/widgets", params={"page": page, "page_size": size, "company_id": company})
    items = ctx.scope.keep(body["widgets"], lambda w: w["company_id"])
    return page_result(items, page=page, page_size=size, total=body["total"])


async def get_widget(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    widget: dict[str, Any] = await ctx.http.get(f"/api/widgets/{args['id']}")
    ctx.scope.check(widget["company_id"], f"widget {args['id']}")
    return widget


async def add_note(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    widget = await ctx.http.get(f"/api/widgets/{args['id']}")
    ctx.scope.check(widget["company_id"], f"widget {args['id']}")
    note: dict[str, Any] = await ctx.http.post(
        f"/api/widgets/{args['id']}/notes", json={"text": args["text"], "public": args.get("public", False)}
    )
    return note


async def validate(ctx: ToolContext) -> None:
    await ctx.http.get("/api/companies")


async def companies(ctx: ToolContext) -> list[Company]:
    body = await ctx.http.get("/api/companies")
    return [Company(str(c["id"]), c["name"]) for c in body["companies"]]


VENDOR = Vendor(
    kind="widgets",
    title="Widgets",
    credential=ApiKeyHeader(header="x-api-key"),
    flags=(Flag("api_key", "--api-key", "the Widgets API key", secret=True, env="WIDGETS_API_KEY"),),
    rate=RateLimit(requests=1000, per_seconds=60, backoff=0.1, max_wait=5),
    validate=validate,
    companies=companies,
    tools=(
        ToolSpec(
            name="list_widgets",
            description="List widgets, newest first. Paged: if has_more, call again with next_page.",
            input_schema={
                "type": "object",
                "properties": {**page_input(), "company_id": {"type": "integer"}},
                "additionalProperties": False,
            },
            output_schema=paged_output(WIDGET),
            handler=list_widgets,
            read_only=True,
            idempotent=True,
        ),
        ToolSpec(
            name="get_widget",
            description="One widget by id.",
            input_schema={"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            output_schema=WIDGET,
            handler=get_widget,
            read_only=True,
            idempotent=True,
        ),
        ToolSpec(
            name="add_note",
            description="Add a note to a widget; public notes are emailed to the customer.",
            input_schema={
                "type": "object",
                "properties": {"id": {"type": "integer"}, "text": {"type": "string"}, "public": {"type": "boolean"}},
                "required": ["id", "text"],
            },
            output_schema={"type": "object"},
            handler=add_note,
            read_only=False,
            effects=Effects(client_visible=When((Condition("public", "equals", True, default=False),))),
        ),
    ),
)


@contextmanager
def registered() -> Iterator[None]:
    """The widgets vendor available to the gateway in this process (as ``MSPLEX_VENDOR_MODULES`` would make it)."""
    registry.register(VENDOR)
    try:
        yield
    finally:
        registry.unregister(VENDOR.kind)


@asynccontextmanager
async def served() -> AsyncIterator[tuple[Fake, str]]:
    """A fresh fake on 127.0.0.1 and its base URL."""
    fake = Fake()
    async with serve(fake.app()) as url:
        yield fake, url
