"""A contract-faithful NinjaOne (``/v2``): OAuth tokens with scopes, ``after`` cursors, the ``df`` filter, actions.

What it reproduces (``msp-apis.md`` §5 and §9):

- ``POST /ws/oauth/token``, **form** body. ``client_credentials`` (``client_id``,
  ``client_secret``, ``scope``); ``authorization_code`` (a code from ``authorize``, the test's
  stand-in for the browser consent) and ``refresh_token`` give a user-context token. A scope the
  application lacks is a 400 ``invalid_scope``; bad client credentials a 401 ``invalid_client``.
  Tokens last ``token_lifetime`` (3600 s) of the injectable clock; an expired or unknown token is
  a 401 ``{error: "invalid_token"}``. ``monitoring`` reads, ``management`` writes and acts;
  ``script/run`` also needs a **user** token (403 for client credentials).
- Lists page with ``pageSize`` and ``after`` (the last id seen; ids ascending); without
  ``pageSize`` at most ``max_page_size`` records come back. Device lists take ``df``
  (``_ninja_df``: a filter the fake cannot parse is a 400, never "all devices").
  ``/v2/queries/*`` page with ``cursor``; device activities with ``olderThan``; ticket boards
  with the body's ``lastCursorId``.
- Organizations (+ detailed, locations, devices, end users), locations, devices (+ detailed,
  search, software, OS patches, disks, activities, alerts), alerts (list, reset), fleet queries
  (device health, OS patches), ticketing (boards, board runs, statuses, get, create, update,
  multipart comments, log entries), actions (reboot, Windows service control, script run, OS
  patch apply: each answers 204 and lands in ``actions``).
- Errors are ``{resultCode, errorMessage, incidentId}``. 429 comes with ``Retry-After`` only when
  ``retry_after`` is set (NinjaOne publishes no limits).

Not reproduced: ``NOT_REPRODUCED``.
"""

from __future__ import annotations

import copy
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from msplex.sandbox import _ninja_df as df
from msplex.sandbox import _ninjaone_ticketing as ticketing
from msplex.sandbox._kit import FakeControls, body_of, json_response, serve_foreground
from msplex.sandbox._ninjaone_seed import STATUSES, Record, Store, seed
from msplex.sandbox._ninjaone_ticketing import NinjaError

__all__ = ["NOT_REPRODUCED", "Application", "NinjaOneFake", "NinjaToken"]

NOT_REPRODUCED = (
    "regions: one host serves everything (the connector's region setting picks the base URL)",
    "the browser part of the authorization-code flow (``authorize`` stands in for consent and PKCE)",
    "the control scope's remote access, custom fields, policies, backups, documentation, webhooks",
    "ticket forms, attributes, attachments and the real board columns (rows carry our chosen fields)",
    "device-level permissions of technicians; every token sees every organization",
    "NinjaOne's exact messages; its rate limits (unpublished; ours are configurable)",
)


@dataclass(frozen=True, slots=True)
class Application:
    """A NinjaOne API application: "API Services" (client credentials) or "Web" (authorization code)."""

    client_id: str
    client_secret: str
    scopes: frozenset[str] = frozenset({"monitoring", "management", "control", "offline_access"})
    grants: frozenset[str] = frozenset({"client_credentials"})


@dataclass
class NinjaToken:
    client_id: str
    scopes: frozenset[str]
    user: bool
    expires_at: float


Handler = Callable[[Request, Any], Awaitable[Any]]


@dataclass
class NinjaOneFake(FakeControls):
    """One NinjaOne instance (see module docstring). Serve ``app`` with ``serve_in_thread``."""

    applications: list[Application] = field(
        default_factory=lambda: [
            Application("ninja-client", "ninja-secret"),
            Application("ninja-web", "web-secret", grants=frozenset({"authorization_code", "refresh_token"})),
        ]
    )
    token_lifetime: float = 3600.0
    max_page_size: int = 1000
    retry_after: int | None = None
    store: Store = field(default_factory=seed)
    tokens_issued: int = 0
    actions: list[Record] = field(default_factory=list)
    wall_clock: Callable[[], float] = time.time
    _tokens: dict[str, NinjaToken] = field(default_factory=dict, repr=False)
    _codes: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict, repr=False)
    _refresh: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        reads: list[tuple[str, Handler]] = [
            ("/v2/organizations", self._organizations),
            ("/v2/organizations-detailed", self._organizations_detailed),
            ("/v2/organization/{oid:int}", self._organization),
            ("/v2/organization/{oid:int}/locations", self._org_locations),
            ("/v2/organization/{oid:int}/devices", self._org_devices),
            ("/v2/organization/{oid:int}/end-users", self._org_end_users),
            ("/v2/locations", self._locations),
            ("/v2/devices", self._devices),
            ("/v2/devices-detailed", self._devices_detailed),
            ("/v2/devices/search", self._device_search),
            ("/v2/device/{did:int}", self._device),
            ("/v2/device/{did:int}/software", self._device_part("_software")),
            ("/v2/device/{did:int}/os-patches", self._device_part("_patches")),
            ("/v2/device/{did:int}/disks", self._device_part("_disks")),
            ("/v2/device/{did:int}/activities", self._device_activities),
            ("/v2/device/{did:int}/alerts", self._device_alerts),
            ("/v2/alerts", self._alerts),
            ("/v2/queries/device-health", self._query("health")),
            ("/v2/queries/os-patches", self._query("patches")),
            ("/v2/user/end-users", self._end_users),
            ("/v2/ticketing/trigger/boards", self._boards),
            ("/v2/ticketing/statuses", self._statuses),
            ("/v2/ticketing/ticket/{tid:int}", self._ticket),
            ("/v2/ticketing/ticket/{tid:int}/log-entry", self._log_entries),
        ]
        writes: list[tuple[str, Handler, str]] = [
            ("/v2/alert/{uid}/reset", self._alert_reset, "POST"),
            ("/v2/alert/{uid}", self._alert_reset, "DELETE"),
            ("/v2/ticketing/trigger/board/{bid:int}/run", self._board_run, "POST"),
            ("/v2/ticketing/ticket", self._ticket_create, "POST"),
            ("/v2/ticketing/ticket/{tid:int}", self._ticket_update, "PUT"),
            ("/v2/ticketing/ticket/{tid:int}/comment", self._comment, "POST"),
            ("/v2/device/{did:int}/reboot/{mode}", self._action("reboot"), "POST"),
            ("/v2/device/{did:int}/windows-service/{name}/{verb}", self._action("windows-service"), "POST"),
            ("/v2/device/{did:int}/script/run", self._action("script"), "POST"),
            ("/v2/device/{did:int}/patch/os/apply", self._action("patch-apply"), "POST"),
        ]
        routes = [Route("/ws/oauth/token", self._token, methods=["POST"])]
        routes += [Route(p, self._wrap(h, "monitoring"), methods=["GET"]) for p, h in reads]
        for path, handler, method in writes:
            scope = "monitoring" if path.endswith("/run") and "board" in path else "management"
            routes.append(Route(path, self._wrap(handler, scope), methods=[method]))
        self.app = Starlette(routes=routes)
        self.app.add_exception_handler(404, self._unknown)
        self.app.add_exception_handler(405, self._unknown)

    # test controls -------------------------------------------------------------------

    def authorize(self, client_id: str, scopes: str = "monitoring management offline_access") -> str:
        """What the browser consent would hand the redirect URI: a one-time authorization code."""
        code = secrets.token_urlsafe(16)
        self._codes[code] = (client_id, frozenset(scopes.split()))
        return code

    def expire_tokens(self) -> None:
        for token in self._tokens.values():
            token.expires_at = float("-inf")

    # the token endpoint -------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        self.record(request, None, None)
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return _oauth(400, "invalid_request", "The token request must be form-encoded")
        form = dict(parse_qsl((await request.body()).decode("latin-1")))
        grant = form.get("grant_type", "")
        app = next((a for a in self.applications if a.client_id == form.get("client_id")), None)
        if app is None or not secrets.compare_digest(app.client_secret, form.get("client_secret", "")):
            return _oauth(401, "invalid_client", "Client authentication failed")
        if grant not in app.grants:
            return _oauth(400, "unauthorized_client", f"The application may not use {grant or 'no grant'}")
        refresh: str | None = None
        if grant == "client_credentials":
            scopes, user = frozenset(form.get("scope", "monitoring").split()), False
        else:
            pool = self._codes if grant == "authorization_code" else self._refresh
            held = pool.pop(form.get("code" if grant == "authorization_code" else "refresh_token", ""), None)
            if held is None or held[0] != app.client_id:
                return _oauth(400, "invalid_grant", "The code or refresh token is not valid")
            scopes, user = held[1], True
            if "offline_access" in scopes:
                refresh = secrets.token_urlsafe(24)
                self._refresh[refresh] = held
        if not scopes <= app.scopes:
            return _oauth(400, "invalid_scope", f"Scope not allowed: {' '.join(sorted(scopes - app.scopes))}")
        access = secrets.token_urlsafe(32)
        self._tokens[access] = NinjaToken(app.client_id, scopes, user, self.clock() + self.token_lifetime)
        self.tokens_issued += 1
        body = {
            "access_token": access,
            "expires_in": int(self.token_lifetime),
            "scope": " ".join(sorted(scopes)),
            "token_type": "bearer",
        }
        return json_response({**body, "refresh_token": refresh} if refresh else body)

    # plumbing -------------------------------------------------------------------------------

    def _wrap(self, handler: Handler, scope: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            json_body = request.headers.get("content-type", "").startswith("application/json")
            try:
                body = await body_of(request) if json_body else None
            except ValueError:
                body = ...
            token = self._bearer(request)
            self.record(request, None if body is ... else body, token.client_id if token else None)
            if self.limited():
                headers = [("retry-after", str(self.retry_after))] if self.retry_after is not None else []
                return _error(429, "Too many requests", "TOO_MANY_REQUESTS", headers)
            if token is None:
                return json_response({"error": "invalid_token"}, 401)
            try:
                if scope not in token.scopes:
                    raise NinjaError(403, f"The token lacks the {scope} scope", "FORBIDDEN")
                if (failure := self.injected_failure()) is not None:
                    return failure
                if body is ...:
                    raise NinjaError(400, "The request body is not valid JSON")
                request.state.token = token
                result = await handler(request, body)
            except NinjaError as err:
                return _error(err.status, err.message, err.code)
            return Response(status_code=204) if result is None else json_response(result)

        return endpoint

    def _bearer(self, request: Request) -> NinjaToken | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = self._tokens.get(value) if scheme.lower() == "bearer" else None
        return token if token is not None and token.expires_at > self.clock() else None

    async def _unknown(self, request: Request, exc: Exception) -> Response:
        return _error(404, f"No endpoint {request.method} {request.url.path}")

    def _one(self, kind: str, key: Any, noun: str) -> Record:
        if (record := self.store[kind].get(key)) is None:
            raise NinjaError(404, f"{noun} {key} not found")
        return record

    def _paged(self, records: list[Record], query: Mapping[str, str]) -> list[Record]:
        size = _int(query, "pageSize", self.max_page_size, 1)
        after = _int(query, "after", 0, 0)
        rows = sorted((r for r in records if r["id"] > after), key=lambda r: r["id"])
        return [_public(r) for r in rows[: min(size, self.max_page_size)]]

    def _filtered_devices(self, query: Mapping[str, str]) -> list[Record]:
        devices = list(self.store["devices"].values())
        if text := query.get("df"):
            try:
                keep = df.parse(text)
            except df.FilterError as err:
                raise NinjaError(400, f"Invalid device filter: {err}") from err
            devices = [d for d in devices if keep(d)]
        return devices

    # organizations, locations, end users ----------------------------------------------------

    async def _organizations(self, request: Request, body: Any) -> Any:
        return self._paged(list(self.store["organizations"].values()), request.query_params)

    async def _organizations_detailed(self, request: Request, body: Any) -> Any:
        return [
            {
                **org,
                "locations": [
                    _public(loc) for loc in self.store["locations"].values() if loc["organizationId"] == org["id"]
                ],
                "policies": [],
                "settings": {},
            }
            for org in self._paged(list(self.store["organizations"].values()), request.query_params)
        ]

    async def _organization(self, request: Request, body: Any) -> Any:
        return _public(self._one("organizations", request.path_params["oid"], "Organization"))

    def _of_org(self, request: Request, kind: str) -> list[Record]:
        oid = self._one("organizations", request.path_params["oid"], "Organization")["id"]
        return [r for r in self.store[kind].values() if r["organizationId"] == oid]

    async def _org_locations(self, request: Request, body: Any) -> Any:
        return self._paged(self._of_org(request, "locations"), request.query_params)

    async def _org_devices(self, request: Request, body: Any) -> Any:
        return self._paged(self._of_org(request, "devices"), request.query_params)

    async def _org_end_users(self, request: Request, body: Any) -> Any:
        return [_public(u) for u in self._of_org(request, "end_users")]

    async def _locations(self, request: Request, body: Any) -> Any:
        return self._paged(list(self.store["locations"].values()), request.query_params)

    async def _end_users(self, request: Request, body: Any) -> Any:
        return [_public(u) for u in self.store["end_users"].values()]

    # devices -------------------------------------------------------------------------------------

    async def _devices(self, request: Request, body: Any) -> Any:
        return self._paged(self._filtered_devices(request.query_params), request.query_params)

    async def _devices_detailed(self, request: Request, body: Any) -> Any:
        page = self._paged(self._filtered_devices(request.query_params), request.query_params)
        return [{**d, **copy.deepcopy(self.store["devices"][d["id"]]["_detail"])} for d in page]

    async def _device_search(self, request: Request, body: Any) -> Any:
        q = request.query_params.get("q", "").casefold()
        if not q:
            raise NinjaError(400, "q is required")
        limit = _int(request.query_params, "limit", 50, 1)
        hits = [
            d
            for d in self.store["devices"].values()
            if q in f"{d['systemName']} {d['displayName']} {d['dnsName']}".casefold()
        ]
        return {"query": request.query_params["q"], "devices": [_public(d) for d in hits[:limit]]}

    async def _device(self, request: Request, body: Any) -> Any:
        device = self._one("devices", request.path_params["did"], "Device")
        return {**_public(device), **copy.deepcopy(device["_detail"])}

    def _device_part(self, key: str) -> Handler:
        async def handler(request: Request, body: Any) -> Any:
            return copy.deepcopy(self._one("devices", request.path_params["did"], "Device")[key])

        return handler

    async def _device_activities(self, request: Request, body: Any) -> Any:
        did = self._one("devices", request.path_params["did"], "Device")["id"]
        q = request.query_params
        older = _int(q, "olderThan", 2**62, 0)
        newer = _int(q, "newerThan", -1, -1)
        rows = sorted(
            (a for a in self.store["activities"].values() if a["deviceId"] == did and newer < a["id"] < older),
            key=lambda a: -a["id"],
        )
        page = rows[: _int(q, "pageSize", 200, 1)]
        return {"lastActivityId": page[-1]["id"] if page else None, "activities": [_public(a) for a in page]}

    async def _device_alerts(self, request: Request, body: Any) -> Any:
        did = self._one("devices", request.path_params["did"], "Device")["id"]
        return [_public(a) for a in self.store["alerts"].values() if a["deviceId"] == did]

    async def _alerts(self, request: Request, body: Any) -> Any:
        devices = {d["id"] for d in self._filtered_devices(request.query_params)}
        source = request.query_params.get("sourceType")
        return [
            _public(a)
            for a in self.store["alerts"].values()
            if a["deviceId"] in devices and (source is None or a["sourceType"] == source)
        ]

    async def _alert_reset(self, request: Request, body: Any) -> Any:
        self._one("alerts", request.path_params["uid"], "Alert")
        del self.store["alerts"][request.path_params["uid"]]
        return None

    def _query(self, kind: str) -> Handler:
        async def handler(request: Request, body: Any) -> Any:
            q = request.query_params
            offset = 0
            if cursor := q.get("cursor"):
                name, _, raw = cursor.rpartition(".")
                if name != f"{kind}-cursor" or not raw.isdigit():
                    raise NinjaError(400, "The cursor is not valid")
                offset = int(raw)
            size = _int(q, "pageSize", 100, 1)
            devices = sorted(self._filtered_devices(q), key=lambda d: d["id"])
            rows = [row for d in devices for row in _query_row(kind, d)][offset : offset + size]
            cursor_out = {
                "name": f"{kind}-cursor.{offset + len(rows)}",
                "offset": offset,
                "count": len(rows),
                "expires": self.wall_clock() + 60,
            }
            return {"cursor": cursor_out, "results": rows}

        return handler

    # actions --------------------------------------------------------------------------------------

    def _action(self, kind: str) -> Handler:
        async def handler(request: Request, body: Any) -> Any:
            device = self._one("devices", request.path_params["did"], "Device")
            params = dict(request.path_params)
            if kind == "reboot" and params["mode"] not in {"NORMAL", "FORCED"}:
                raise NinjaError(400, "The reboot mode must be NORMAL or FORCED")
            if kind == "windows-service":
                if "WINDOWS" not in device["nodeClass"]:
                    raise NinjaError(400, "Windows service control needs a Windows device")
                if params["verb"] not in {"start", "stop", "restart"}:
                    raise NinjaError(400, "The service action must be start, stop or restart")
            if kind == "script":
                if not request.state.token.user:
                    raise NinjaError(
                        403, "Script runs need a user-context token (authorization code flow)", "FORBIDDEN"
                    )
                if not isinstance(body, dict) or body.get("type") not in {"SCRIPT", "ACTION"}:
                    raise NinjaError(400, "A script run needs type SCRIPT or ACTION and the script's id or uid")
            self.actions.append({"kind": kind, "deviceId": device["id"], "params": params, "body": body})
            return None

        return handler

    # ticketing -----------------------------------------------------------------------------------

    async def _boards(self, request: Request, body: Any) -> Any:
        return list(self.store["boards"].values())

    async def _statuses(self, request: Request, body: Any) -> Any:
        return [dict(s) for s in STATUSES]

    async def _board_run(self, request: Request, body: Any) -> Any:
        return ticketing.run_board(self.store, request.path_params["bid"], body)

    async def _ticket(self, request: Request, body: Any) -> Any:
        return _public(self._one("tickets", request.path_params["tid"], "Ticket"))

    async def _log_entries(self, request: Request, body: Any) -> Any:
        tid = self._one("tickets", request.path_params["tid"], "Ticket")["id"]
        return [_public(c) for c in self.store["comments"].values() if c["_ticketId"] == tid]

    async def _ticket_create(self, request: Request, body: Any) -> Any:
        return _public(ticketing.create_ticket(self.store, body, self.wall_clock()))

    async def _ticket_update(self, request: Request, body: Any) -> Any:
        return _public(ticketing.update_ticket(self.store, request.path_params["tid"], body))

    async def _comment(self, request: Request, body: Any) -> Any:
        part: bytes | str | None = None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            value = form.get("comment")
            part = value if value is None or isinstance(value, str) else await value.read()
        ticketing.add_comment(self.store, request.path_params["tid"], part, self.wall_clock())
        return None


def _query_row(kind: str, device: Record) -> list[Record]:
    if kind == "health":
        return [{"deviceId": device["id"], **device["_health"]}]
    return [{"deviceId": device["id"], **p} for p in device["_patches"]]


def _public(record: Record) -> Record:
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def _int(query: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.lstrip("-").isdigit() or int(raw) < minimum:
        raise NinjaError(400, f"{name} must be an integer of at least {minimum}")
    return int(raw)


def _error(status: int, message: str, code: str = "FAILURE", headers: list[tuple[str, str]] | None = None) -> Response:
    body = {"resultCode": code, "errorMessage": message, "incidentId": str(uuid.uuid4())}
    return json_response(body, status, headers or [])


def _oauth(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def main(argv: list[str] | None = None) -> None:
    """Serve the fake in the foreground (the sandbox demo)."""
    banner = "NinjaOne fake (token POST /ws/oauth/token; client ninja-client / ninja-secret)"
    serve_foreground(NinjaOneFake().app, "msplex.sandbox.ninjaone", 8784, banner, argv)


if __name__ == "__main__":
    main()
