"""A contract-faithful ConnectWise PSA (Manage): member keys, the codebase path, conditions, paging, JSON Patch.

What it reproduces (``msp-apis.md`` §3 and §9):

- ``GET /login/companyinfo/{company}`` answers ``Codebase`` (``"v4_6_release/"``); the API lives at
  ``/{codebase}/apis/3.0/...`` and any other codebase is a 404.
- Every API request needs ``Authorization: Basic base64("{company}+{publicKey}:{privateKey}")``
  **and** a registered ``clientId`` header; without either, or with a wrong one, 401 with
  ``{code: "Unauthorized", message}``. Member keys never expire (Manage has no tokens).
- Lists: 1-based ``page``, ``pageSize`` (default 25, at most 1000: more is served as 1000),
  a ``Link`` header with ``first``/``prev``/``next``/``last``, ``/count`` → ``{count}``,
  ``orderBy``, ``fields``, and the ``conditions`` language (see ``_cw_conditions``): a malformed
  condition, an unknown field or a mistyped value is a 400 ``InvalidObject`` naming ``conditions``.
- Resources: companies (+ sites), contacts, configurations, service tickets (+ notes, tasks),
  boards (+ statuses, types), priorities, KB articles, time entries, schedule entries,
  agreements, invoices, projects, members. POST creates tickets, notes (one of the three note
  flags must be true), tasks, time entries, contacts and schedule entries; references are
  resolved by id or name and an unknown one is a 400 with ``errors: [{code, message, resource,
  field}]``. PATCH takes only a JSON Patch array. DELETE answers 204.
- Rate limiting is Cloudflare's, in front of Manage: past ``rate_limit`` requests per
  ``rate_window`` seconds (or after ``throttle_next``), 429 ``error code: 1015`` as text with
  ``Retry-After`` (when ``retry_after`` is set), before authentication is even looked at.

Not reproduced: ``NOT_REPRODUCED``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from msplex.sandbox import _connectwise_routes as routes
from msplex.sandbox._connectwise_seed import Store, seed
from msplex.sandbox._kit import FakeControls, body_of, json_response, serve_foreground

__all__ = ["DEFAULT_CLIENT_ID", "NOT_REPRODUCED", "ApiMember", "ConnectWiseFake"]

DEFAULT_CLIENT_ID = "5b1f6c1e-3c39-4b0e-9d2e-7f0b6a1d2c3e"
NOT_REPRODUCED = (
    "member security roles (every valid key may read and write everything)",
    "childConditions, customFieldConditions, forward-only pageId paging, and the Accept version header",
    "PUT replacement, custom fields, attachments, workflow rules and e-mails a note or ticket would send",
    "most of the API's resources: only the ones named in the module docstring exist",
    "Manage's exact messages (the body shape and codes are Manage's, the words ours); the 429 body "
    "and Retry-After value are Cloudflare's as reported by clients [U]",
)


@dataclass(frozen=True, slots=True)
class ApiMember:
    """An API member's keys, used as ``{company}+{public_key}:{private_key}``."""

    company: str
    public_key: str
    private_key: str


@dataclass
class ConnectWiseFake(FakeControls):
    """One Manage site (see module docstring). Serve ``app`` with ``msplex.sandbox._server.serve_in_thread``."""

    codebase: str = "v4_6_release"
    members: list[ApiMember] = field(default_factory=lambda: [ApiMember("msplex", "pubkey", "privkey")])
    client_ids: frozenset[str] = frozenset({DEFAULT_CLIENT_ID})
    retry_after: int | None = 5
    store: Store = field(default_factory=seed)
    epoch: datetime = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    """Wall time at clock 0: what ``_info`` dates of new records say."""

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/login/companyinfo/{company}", self._company_info, methods=["GET"]),
                Route(
                    "/{codebase}/apis/3.0/{path:path}",
                    self._api,
                    methods=["GET", "POST", "PATCH", "DELETE"],
                ),
            ]
        )
        self.app.add_exception_handler(404, self._not_found)
        self.app.add_exception_handler(405, self._not_allowed)

    async def _company_info(self, request: Request) -> Response:
        company = request.path_params["company"]
        if not any(m.company.casefold() == company.casefold() for m in self.members):
            return json_response({"code": "NotFound", "message": f"Company {company} was not found."}, 404)
        return json_response(
            {
                "CompanyName": company,
                "Codebase": f"{self.codebase}/",
                "VersionCode": "v2025.1",
                "VersionNumber": "v2025.1.0",
                "CompanyID": company,
                "IsCloud": True,
                "SiteUrl": request.url.netloc,
            }
        )

    async def _api(self, request: Request) -> Response:
        try:
            body = await body_of(request)
        except ValueError:
            body = ...
        member = self._member(request)
        self.record(request, None if body is ... else body, member.public_key if member else None)
        if self.limited():
            headers = [("retry-after", str(self.retry_after))] if self.retry_after is not None else []
            return Response("error code: 1015", 429, headers=dict(headers), media_type="text/plain")
        if (refused := self._refused(request, member)) is not None:
            return refused
        if request.path_params["codebase"] != self.codebase:
            return json_response({"code": "NotFound", "message": "The requested codebase does not exist."}, 404)
        if (failure := self.injected_failure()) is not None:
            return failure
        if body is ...:
            return json_response({"code": "InvalidObject", "message": "The request body is not valid JSON."}, 400)
        try:
            return self._dispatch(request, body)
        except routes.CwError as err:
            return json_response(err.body, err.status)

    def _dispatch(self, request: Request, body: object) -> Response:
        t = routes.target(self.store, request.path_params["path"])
        now = self._now()
        if request.method == "POST":
            return json_response(routes.create(self.store, t, body, now), 201)
        if t.item is None and request.method in {"PATCH", "DELETE"}:
            raise routes.CwError(405, "MethodNotAllowed", f"{request.method} needs a record id")
        if request.method == "PATCH":
            return json_response(routes.patch(self.store, t, body, now))
        if request.method == "DELETE":
            routes.delete(self.store, t)
            return Response(status_code=204)
        if t.item is not None:
            return json_response(routes.get(self.store, t))
        result = routes.listing(self.store, t, request.query_params)
        if isinstance(result, int):
            return json_response({"count": result})
        return json_response(result.records, headers=_links(request, result))

    def _member(self, request: Request) -> ApiMember | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, private = decoded.partition(":")
        company, _, public = user.partition("+")
        for m in self.members:
            if (
                m.company.casefold() == company.casefold()
                and secrets.compare_digest(m.public_key, public)
                and secrets.compare_digest(m.private_key, private)
            ):
                return m
        return None

    def _refused(self, request: Request, member: ApiMember | None) -> Response | None:
        client_id = request.headers.get("clientid")
        if not client_id:
            message = "A clientId header is required; register one at developer.connectwise.com."
        elif client_id not in self.client_ids:
            message = "The clientId is not valid."
        elif member is None:
            message = "Authentication failed: the company, public key or private key is not valid."
        else:
            return None
        return json_response({"code": "Unauthorized", "message": message}, 401)

    def _now(self) -> str:
        return (self.epoch + timedelta(seconds=self.clock())).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return json_response({"code": "NotFound", "message": f"No resource at {request.url.path}"}, 404)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return json_response({"code": "MethodNotAllowed", "message": f"{request.method} is not supported here"}, 405)


def _links(request: Request, listing: routes.Listing) -> list[tuple[str, str]]:
    """Manage's ``Link`` header: absolute URLs of the same query with another ``page``."""
    last = max(1, -(-listing.total // listing.page_size))
    if last == 1:
        return []
    base = str(request.url.replace(query="")).rstrip("?")
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

    def url(page: int) -> str:
        return f"<{base}?{urlencode([*params, ('page', str(page))])}>"

    rels = []
    if listing.page > 1:
        rels += [f'{url(1)}; rel="first"', f'{url(min(listing.page - 1, last))}; rel="prev"']
    if listing.page < last:
        rels += [f'{url(listing.page + 1)}; rel="next"', f'{url(last)}; rel="last"']
    return [("link", ", ".join(rels))] if rels else []


def main(argv: list[str] | None = None) -> None:
    """Serve the fake in the foreground (the sandbox demo)."""
    banner = f"ConnectWise Manage fake (keys msplex+pubkey:privkey, clientId {DEFAULT_CLIENT_ID})"
    serve_foreground(ConnectWiseFake().app, "msplex.sandbox.connectwise", 8782, banner, argv)


if __name__ == "__main__":
    main()
