"""A contract-faithful HaloPSA: the OAuth handshake, the ``/api`` resources, paging, writes, limits, errors.

What it reproduces (``docs/reference`` of the issue: ``msp-apis.md`` §1 and §9):

- ``GET /api/authinfo`` names the auth server (``{base}/auth``); ``POST /auth/token?tenant=T``
  takes a **form** body (``grant_type=client_credentials``, ``client_id``, ``client_secret``,
  ``scope``, space-separated) and answers ``access_token``, ``token_type``, ``expires_in``,
  ``scope``; OAuth errors are ``{error, error_description}``. Tokens expire after
  ``token_lifetime`` seconds of the injectable clock (then 401), and ``expire_tokens`` ends
  them early. A ``read:`` scope cannot write (403).
- Resources under ``/api/{Resource}`` (case-insensitive), a list under its resource key
  (``tickets``, ``clients``, ...) with ``record_count``; lookups and timesheets are bare arrays.
  Paging: ``pageinate=true`` pages; **``page_size`` is ignored unless ``page_no`` is on the
  same request** (the default page of 50 is served instead, silently); without
  ``pageinate`` everything (or ``count``) comes back. Unknown query parameters are ignored.
- Writes are ``POST /api/{Resource}`` with a **JSON array**; an element with ``id`` updates.
  An action needs an ``outcome``; ``new_status`` moves its ticket; time on an action books a
  timesheet event. One element answers one object, several an array.
- Errors are not uniform: ``{ClassName, Message}`` on validation, a bare JSON string for a
  missing record, ``{Message}`` for an unknown route, an empty 401, plain text for 403 and 429.
- A rolling-window rate limit (``rate_limit`` per ``rate_window`` seconds) answers 429 with
  Halo's text and, only when ``retry_after`` is set, a ``Retry-After`` header (Halo sends none).

Every request is recorded (``requests``) for assertions. ``fail_next`` and ``throttle_next``
inject failures. Not reproduced: see ``NOT_REPRODUCED``.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from msplex.sandbox import _halopsa_seed as seed
from msplex.sandbox._halopsa_routes import ApiError, read, write

__all__ = ["DEFAULT_PAGE_SIZE", "NOT_REPRODUCED", "Application", "HaloFake", "Recorded", "main"]

DEFAULT_PAGE_SIZE = 50
NOT_REPRODUCED = (
    "a separate auth host (authinfo always names {base}/auth)",
    "DELETE and every resource beyond tickets, actions, clients, sites, users, agents, assets, KB, "
    "timesheets, contracts, invoices and the ticket lookups",
    "custom fields, attachments, HTML sanitising, SLA and workflow side effects of a ticket change",
    "per-agent permissions beyond the token's scopes; client-portal (end-user) tokens",
    "Halo's exact exception class names and messages (the shapes are Halo's; the words are ours)",
    "certainty about three filter names no public source confirms: tickettype_id on Tickets, agent_id on "
    "Timesheet/TimesheetEvent, and client_id on a timesheet event",
)


@dataclass(frozen=True, slots=True)
class Application:
    """A Halo API application: client credentials and the scopes it may be granted."""

    client_id: str
    client_secret: str
    scopes: frozenset[str] = frozenset({"all"})


@dataclass(frozen=True, slots=True)
class Recorded:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    client_id: str | None
    """Whose token the request carried (``None``: none, or not a live one)."""

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)


@dataclass
class _Token:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class HaloFake:
    """One Halo tenant (see module docstring). Serve ``app`` with ``msplex.sandbox._server.serve_in_thread``."""

    tenant: str | None = "msplex"
    """Hosted Halo's tenant name, required on the token request; ``None``: self-hosted (no tenant)."""
    applications: list[Application] = field(default_factory=lambda: [Application("halo-client", "halo-secret")])
    token_lifetime: float = 3600.0
    rate_limit: int = 300
    rate_window: float = 300.0
    retry_after: int | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    clock: Callable[[], float] = time.monotonic
    store: dict[str, dict[int, seed.Record]] = field(default_factory=seed.seed)
    requests: list[Recorded] = field(default_factory=list)
    tokens_issued: int = 0
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _hits: deque[float] = field(default_factory=deque)
    _throttle: int = 0
    _failures: deque[tuple[int, Any]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/api/authinfo", self._authinfo, methods=["GET"]),
                Route("/auth/token", self._token, methods=["POST"]),
                Route("/api/{resource}", self._api, methods=["GET", "POST"]),
                Route("/api/{resource}/{rid}", self._api, methods=["GET"]),
            ]
        )
        self.app.add_exception_handler(404, self._unknown_route)

    # test controls -------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now (the next use answers 401)."""
        for token in self._tokens.values():
            token.expires_at = float("-inf")

    def live_tokens(self) -> list[str]:
        """The access tokens that still work (for tests asserting they never leak)."""
        now = self.clock()
        return [value for value, token in self._tokens.items() if token.expires_at > now]

    def throttle_next(self, count: int = 1) -> None:
        """The next ``count`` API requests answer 429, whatever the window says."""
        self._throttle += count

    def fail_next(self, status: int, body: Any = None) -> None:
        """The next API request (after authentication) answers ``status`` with ``body`` as JSON."""
        self._failures.append((status, body))

    def api_requests(self, path: str | None = None) -> list[Recorded]:
        """Recorded ``/api`` requests (the token endpoint excluded), optionally for one path (any case)."""
        return [
            r for r in self.requests if r.path.startswith("/api/") and (path is None or r.path.lower() == path.lower())
        ]

    # endpoints -----------------------------------------------------------

    async def _authinfo(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        tenant = {"tenant_id": self.tenant} if self.tenant else {}
        return _json({"auth_url": f"{base}/auth", **tenant})

    async def _token(self, request: Request) -> Response:
        raw = await request.body()
        form = dict(parse_qsl(raw.decode("latin-1"))) if raw else {}
        self.requests.append(Recorded("POST", request.url.path, tuple(request.query_params.multi_items()), None, None))
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "the token request must be form-encoded")
        tenant = request.query_params.get("tenant") or form.get("tenant")
        if self.tenant is not None and tenant != self.tenant:
            return _oauth_error(400, "invalid_request", "unknown or missing tenant")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "only client_credentials is enabled")
        app = next((a for a in self.applications if a.client_id == form.get("client_id")), None)
        if app is None or not secrets.compare_digest(app.client_secret, form.get("client_secret", "")):
            return _oauth_error(401, "invalid_client", "the client id or secret is not valid")
        asked = frozenset(form.get("scope", "").split()) or app.scopes
        if not asked <= app.scopes:
            return _oauth_error(400, "invalid_scope", f"not allowed: {' '.join(sorted(asked - app.scopes))}")
        access = secrets.token_urlsafe(32)
        self._tokens[access] = _Token(app.client_id, asked, self.clock() + self.token_lifetime)
        self.tokens_issued += 1
        return _json(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime),
                "scope": " ".join(sorted(asked)),
            }
        )

    async def _api(self, request: Request) -> Response:
        resource = request.path_params["resource"].lower()
        body = await _body(request)
        token = self._bearer(request)
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                tuple(request.query_params.multi_items()),
                body,
                token.client_id if token else None,
            )
        )
        if (throttled := self._throttled()) is not None:
            return throttled
        if token is None:
            return Response(status_code=401, headers={"www-authenticate": 'Bearer error="invalid_token"'})
        writing = request.method == "POST"
        try:
            if not _allowed(token.scopes, resource, writing):
                verb = "edit" if writing else "read"
                return Response(
                    f"Access denied: this token lacks the {verb} scope for {resource}", 403, media_type="text/plain"
                )
            if self._failures:
                status, payload = self._failures.popleft()
                return _json(payload, status)
            if writing:
                return _json(write(self.store, resource, body))
            rid = request.path_params.get("rid")
            return _json(read(self.store, resource, rid, request.query_params, self.page_size))
        except ApiError as err:
            return _json(err.body, err.status)

    async def _unknown_route(self, request: Request, exc: Exception) -> Response:
        return _json({"Message": f"No HTTP resource was found that matches the request URI '{request.url}'."}, 404)

    # helpers ---------------------------------------------------------------

    def _bearer(self, request: Request) -> _Token | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = self._tokens.get(value) if scheme.lower() == "bearer" else None
        if token is None or token.expires_at <= self.clock():
            return None
        return token

    def _throttled(self) -> Response | None:
        now = self.clock()
        hits = self._hits
        while hits and hits[0] <= now - self.rate_window:
            hits.popleft()
        forced = self._throttle > 0
        if forced:
            self._throttle -= 1
        elif len(hits) < self.rate_limit:
            hits.append(now)
            return None
        headers = {"retry-after": str(self.retry_after)} if self.retry_after is not None else {}
        minutes = self.rate_window / 60
        text = f"Rate Limit Reached – {self.rate_limit} Requests per rolling {minutes:g} minute window"
        return Response(text, 429, headers=headers, media_type="text/plain")


_AREAS = {
    "tickets": "tickets",
    "actions": "tickets",
    "status": "tickets",
    "tickettype": "tickets",
    "category": "tickets",
    "outcome": "tickets",
    "agent": "tickets",
    "client": "customers",
    "site": "customers",
    "users": "customers",
    "asset": "assets",
    "kbarticle": "kb",
    "timesheet": "timesheets",
    "timesheetevent": "timesheets",
    "clientcontract": "contracts",
    "invoice": "invoices",
}


def _allowed(scopes: frozenset[str], resource: str, writing: bool) -> bool:
    """Halo's scope model: ``all`` covers everything, ``all:standard`` all but admin, ``edit:X`` implies
    ``read:X``. A resource the fake does not know is allowed through (it answers 404 itself)."""
    if "all" in scopes or "all:standard" in scopes:
        return True
    area = _AREAS.get(resource)
    if area is None:
        return True
    return f"edit:{area}" in scopes or (not writing and f"read:{area}" in scopes)


async def _body(request: Request) -> Any:
    if request.method != "POST":
        return None
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json({"error": error, "error_description": description}, status)


def main(argv: list[str] | None = None) -> int:
    """``python -m msplex.sandbox.halopsa --port 0``: serve a seeded fake; prints ``READY <port>``."""
    import argparse
    import threading

    from msplex.sandbox._server import serve_in_thread

    parser = argparse.ArgumentParser(prog="python -m msplex.sandbox.halopsa", description="A local HaloPSA fake.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate-limit", type=int, default=300, help="requests per rolling window (300)")
    parser.add_argument("--token-lifetime", type=float, default=3600.0)
    args = parser.parse_args(argv)
    fake = HaloFake(rate_limit=args.rate_limit, token_lifetime=args.token_lifetime)
    running = serve_in_thread(fake.app, args.port)
    print(f"READY {running.port} client_id=halo-client tenant={fake.tenant}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
