"""A contract-faithful Hudu fake: a real HTTP server for tests and the sandbox (``msplex serve --demo``).

What it reproduces, per ``msp-apis.md`` §2 and §9 (and the public clients cited there):

* **Auth**: the ``x-api-key`` header only; a missing or unknown key is a 401 ``{"error": ...}``.
* **Paths**: ``/api/v1/...``: ``api_info``, ``companies[/{id}]``, ``assets`` (account-wide list),
  ``companies/{cid}/assets[/{id}[/archive|/unarchive]]`` (the only place assets are created or
  updated: ``POST /api/v1/assets`` is not a route, as with the real API), ``asset_layouts[/{id}]``,
  ``articles[/{id}]`` (create, update, delete), ``asset_passwords[/{id}]``, ``websites[/{id}]``,
  ``procedures[/{id}]``, ``activity_logs``.
* **Envelopes** as Hudu sends them: ``{"companies": [...]}`` / ``{"company": {...}}`` and so on, but a
  bare array from ``/websites`` and ``/activity_logs`` (and a bare object from ``/websites/{id}``).
* **Paging**: 1-based ``page`` (``page < 1`` is page 1), ``page_size`` default 25, no totals (a client
  stops on a short page); ``/asset_layouts`` ignores ``page_size`` (always 25 a page).
* **Rate limit**: Rack::Attack style, counted per API key in fixed windows aligned to the clock
  (``period`` seconds, default 60 with ``limit`` 300, the figure clients cite); over the limit a
  ``429`` with the plain-text body ``Retry later`` and, like Rack::Attack's default, **no**
  ``Retry-After`` (``retry_after=True`` adds one, as Rack::Attack can be configured to).
  ``reject_next(n)`` makes the next ``n`` requests 429 whatever the window says (deterministic tests).
* **Errors**: ``{"error": "..."}`` (401, 404 of a record) or ``{"errors": [...]}`` (422 validation);
  an unknown route is an HTML 404 page, as Rails serves it.
* **Secrets**: ``asset_passwords`` list and get return ``password`` and ``otp_secret`` in plaintext.

Every request is recorded (``requests``) for assertions. The clock is injectable. Not reproduced:
see ``NOT_REPRODUCED``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Match, Route, Router
from starlette.types import Receive, Scope, Send

from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.hudu_listings import LISTINGS, SINGULAR
from msplex.sandbox.hudu_seed import STAMP, article_record, asset_record, seed

__all__ = ["DEMO_KEY", "NOT_REPRODUCED", "HuduFake", "Recorded"]

JSON = dict[str, Any]
DEMO_KEY = "hudu-demo-key-0000000000000000"
PAGE_SIZE = 25
NOT_REPRODUCED = (
    "role-based permissions of a key (every key sees everything, as an administrator's key does)",
    "per-key password-access and IP allow-list options (unverified in the reference)",
    "folders, relations, magic dash, uploads, photos, networks/IPAM, lists, exports, users",
    "search ranking: search is a case-insensitive substring match on name (and content for articles)",
    "validation beyond required fields (name, asset_layout_id) and known company and layout ids",
    "HTML sanitising of article content; slugs are not regenerated on rename",
    "the throttle's real discriminator and figure (here per API key, 300 per 60 s window; both unverified)",
    "activity log entries for reads (the fake logs its writes only, besides the seeded entries)",
    "GET /assets/{id} and other routes the public clients do not use",
)

_ARTICLE_FIELDS = ("name", "content", "company_id", "folder_id", "draft", "enable_sharing", "slug")


@dataclass(frozen=True, slots=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    key: str | None
    status: int


def _not_found() -> HTMLResponse:
    """What Rails serves for a path that is not a route."""
    return HTMLResponse("<html><body><h1>The page you were looking for doesn't exist.</h1></body></html>", 404)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def _invalid(*messages: str) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, 422)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


class HuduFake:
    """One Hudu instance: its data, its valid API keys, its rate limiter, and the requests it saw."""

    def __init__(
        self,
        api_keys: Iterable[str] = (DEMO_KEY,),
        *,
        limit: int = 300,
        period: float = 60.0,
        retry_after: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_keys = set(api_keys)
        self.limit, self.period, self.retry_after, self.clock = limit, period, retry_after, clock
        self.data = seed()
        self.requests: list[Recorded] = []
        self._hits: dict[tuple[str, int], int] = {}
        self._reject = 0
        self._lock = threading.Lock()
        self._next_id = 1000
        self._router = Router(
            routes=[
                Route("/api/v1/api_info", self._api_info),
                Route("/api/v1/companies/{cid:int}/assets", self._create_asset, methods=["POST"]),
                Route("/api/v1/companies/{cid:int}/assets/{id:int}", self._asset, methods=["GET", "PUT"]),
                Route("/api/v1/companies/{cid:int}/assets/{id:int}/{verb:str}", self._archive, methods=["PUT"]),
                Route("/api/v1/articles", self._create_article, methods=["POST"]),
                Route("/api/v1/articles/{id:int}", self._article, methods=["PUT", "DELETE"]),
                Route("/api/v1/{resource:str}", self._list, methods=["GET"]),
                Route("/api/v1/{resource:str}/{id:int}", self._get, methods=["GET"]),
            ]
        )

    # running ---------------------------------------------------------------

    def start(self, port: int = 0) -> Running:
        """Serve on 127.0.0.1 (a free port by default); the API root is ``{running.url}/api/v1``."""
        return serve_in_thread(self, port)

    def reject_next(self, count: int = 1) -> None:
        """The next ``count`` requests are throttled (429), as if the window were spent."""
        with self._lock:
            self._reject += count

    def hits(self, method: str | None = None, path: str | None = None, status: int | None = None) -> list[Recorded]:
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method)
            and (path is None or r.path == path)
            and (status is None or r.status == status)
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        key = request.headers.get("x-api-key")
        response = self._gate(key)
        if response is None:
            response = await self._route(request, scope, receive)
        self.requests.append(
            Recorded(request.method, request.url.path, dict(request.query_params), key, response.status_code)
        )
        await response(scope, receive, send)

    def _gate(self, key: str | None) -> Response | None:
        """Rack::Attack (before the app), then the key check."""
        now = self.clock()
        window = int(now // self.period)
        with self._lock:
            bucket = (key or "", window)
            self._hits[bucket] = self._hits.get(bucket, 0) + 1
            throttled = self._reject > 0 or self._hits[bucket] > self.limit
            if self._reject > 0:
                self._reject -= 1
        if throttled:
            headers = {"Retry-After": str(max(1, int((window + 1) * self.period - now)))} if self.retry_after else {}
            return PlainTextResponse("Retry later\n", 429, headers=headers)
        if key is None or key not in self.api_keys:
            return _error(401, "Invalid API key" if key else "API key is missing")
        return None

    async def _route(self, request: Request, scope: Scope, receive: Receive) -> Response:
        for route in self._router.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                request = Request({**scope, **child}, receive)
                handler = route.endpoint  # type: ignore[attr-defined]
                return await handler(request)  # type: ignore[no-any-return]
        return _not_found()

    # handlers ----------------------------------------------------------------

    async def _api_info(self, request: Request) -> Response:
        return JSONResponse({"version": "2.39.0", "date": "2026-01-01"})

    def _find(self, resource: str, rid: int) -> JSON | None:
        return next((r for r in self.data[resource] if r["id"] == rid), None)

    async def _list(self, request: Request) -> Response:
        listing = LISTINGS.get(request.path_params["resource"])
        if listing is None:
            return _not_found()
        query = dict(request.query_params)
        page = max(1, _int(query.get("page"), 1))
        size = _int(query.get("page_size"), PAGE_SIZE) if listing.honours_page_size else PAGE_SIZE
        size = size if size > 0 else PAGE_SIZE
        rows = [r for r in self.data[listing.resource] if listing.filters(r, query)]
        chunk = rows[(page - 1) * size : page * size]
        return JSONResponse(chunk if listing.envelope is None else {listing.envelope: chunk})

    async def _get(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in self.data or resource in ("assets", "activity_logs"):
            return _not_found()
        record = self._find(resource, request.path_params["id"])
        if record is None:
            return _error(404, "Record not found")
        singular = SINGULAR.get(resource)
        return JSONResponse(record if singular is None else {singular: record})

    async def _asset(self, request: Request) -> Response:
        cid, aid = request.path_params["cid"], request.path_params["id"]
        record = self._find("assets", aid)
        if self._find("companies", cid) is None or record is None or record["company_id"] != cid:
            return _error(404, "Record not found")
        if request.method == "PUT":
            body = await _body(request, "asset")
            if isinstance(body, Response):
                return body
            if "name" in body and not str(body["name"] or "").strip():
                return _invalid("Name can't be blank")
            self._apply_asset(record, body)
            self._log("Asset", aid, "updated")
        return JSONResponse({"asset": record})

    async def _create_asset(self, request: Request) -> Response:
        company = self._find("companies", request.path_params["cid"])
        if company is None:
            return _error(404, "Record not found")
        body = await _body(request, "asset")
        if isinstance(body, Response):
            return body
        layout = self._find("asset_layouts", _int(str(body.get("asset_layout_id")), 0))
        errors = [] if str(body.get("name") or "").strip() else ["Name can't be blank"]
        if layout is None:
            errors.append("Asset layout must exist")
        if errors or layout is None:
            return _invalid(*errors)
        record = asset_record(self._id(), company, layout, str(body["name"]), {}, str(body.get("primary_serial") or ""))
        self._apply_asset(record, body)
        self.data["assets"].append(record)
        self._log("Asset", record["id"], "created")
        return JSONResponse({"asset": record})

    async def _archive(self, request: Request) -> Response:
        verb = request.path_params["verb"]
        cid, aid = request.path_params["cid"], request.path_params["id"]
        record = self._find("assets", aid)
        if verb not in ("archive", "unarchive"):
            return _not_found()
        if record is None or record["company_id"] != cid:
            return _error(404, "Record not found")
        record["archived"] = verb == "archive"
        self._log("Asset", aid, f"{verb}d")
        return JSONResponse({"asset": record})

    async def _create_article(self, request: Request) -> Response:
        body = await _body(request, "article")
        if isinstance(body, Response):
            return body
        problem = self._article_problem(body, creating=True)
        if problem is not None:
            return problem
        company = self._find("companies", body["company_id"]) if body.get("company_id") is not None else None
        record = article_record(self._id(), company, str(body["name"]), str(body.get("content") or ""))
        record.update({k: body[k] for k in _ARTICLE_FIELDS if k in body})
        self.data["articles"].append(record)
        self._log("Article", record["id"], "created")
        return JSONResponse({"article": record})

    async def _article(self, request: Request) -> Response:
        record = self._find("articles", request.path_params["id"])
        if record is None:
            return _error(404, "Record not found")
        if request.method == "DELETE":
            self.data["articles"].remove(record)
            self._log("Article", record["id"], "deleted")
            return Response(status_code=204)
        body = await _body(request, "article")
        if isinstance(body, Response):
            return body
        problem = self._article_problem(body, creating=False)
        if problem is not None:
            return problem
        record.update({k: body[k] for k in _ARTICLE_FIELDS if k in body})
        record["updated_at"] = _now(self.clock())
        self._log("Article", record["id"], "updated")
        return JSONResponse({"article": record})

    def _article_problem(self, body: JSON, *, creating: bool) -> Response | None:
        errors = []
        if (creating or "name" in body) and not str(body.get("name") or "").strip():
            errors.append("Name can't be blank")
        cid = body.get("company_id")
        if cid is not None and (not isinstance(cid, int) or self._find("companies", cid) is None):
            errors.append("Company must exist")
        return _invalid(*errors) if errors else None

    # state -------------------------------------------------------------------

    def _apply_asset(self, record: JSON, body: JSON) -> None:
        for key in ("name", "primary_serial", "primary_mail", "primary_model", "primary_manufacturer"):
            if key in body:
                record[key] = body[key]
        values: dict[str, Any] = {}
        for entry in body.get("custom_fields") or body.get("fields") or []:
            if isinstance(entry, dict):
                values.update({str(k).lower().replace("_", " "): v for k, v in entry.items()})
        for field in record["fields"]:
            if field["label"].lower() in values:
                field["value"] = values[field["label"].lower()]
        record["updated_at"] = _now(self.clock())

    def _id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _log(self, resource_type: str, resource_id: int, action: str) -> None:
        entry = {
            "id": self._id(),
            "user_id": 0,
            "user_email": "api@hudu.example",
            "user_name": "API",
            "resource_id": resource_id,
            "resource_type": resource_type,
            "action_message": action,
            "created_at": _now(self.clock()),
            "updated_at": _now(self.clock()),
        }
        self.data["activity_logs"].insert(0, entry)


def _now(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(at)) if at > 0 else STAMP


async def _body(request: Request, wrapper: str) -> JSON | Response:
    """The object under ``wrapper`` (Hudu's write bodies are ``{"article": {...}}`` and so on)."""
    try:
        payload = json.loads(await request.body() or b"{}")
    except ValueError:
        return _error(400, "Invalid JSON in request body")
    inner = payload.get(wrapper) if isinstance(payload, dict) else None
    if not isinstance(inner, dict):
        return _error(400, f"param is missing or the value is empty: {wrapper}")
    return inner


def main(argv: list[str] | None = None) -> None:
    """``python -m msplex.sandbox.hudu [--port N] [--key KEY]``: serve the fake in the foreground (the demo)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m msplex.sandbox.hudu", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8781)
    parser.add_argument("--key", action="append", help=f"an accepted API key (repeatable; default {DEMO_KEY})")
    parser.add_argument("--limit", type=int, default=300, help="requests per key per 60 s window (300)")
    args = parser.parse_args(argv)
    fake = HuduFake(args.key or (DEMO_KEY,), limit=args.limit)
    print(f"Hudu fake on http://127.0.0.1:{args.port} (API root /api/v1)", flush=True)
    uvicorn.run(fake, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
