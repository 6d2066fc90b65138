"""A contract-faithful Pax8 partner API: the JSON token request, 0-based pages, isMock orders, Pax8's envelope.

What it reproduces (``msp-apis.md`` §4 and §9):

- ``POST /v1/token`` takes a **JSON** body ``{client_id, client_secret, audience, grant_type}``
  (``audience`` must be ``https://api.pax8.com``) and answers ``{access_token, expires_in: 86400,
  token_type: "Bearer"}``; token errors are Auth0's ``{error, error_description}`` (401 bad
  client, 403 unknown audience, 400 otherwise). A token expires ``token_lifetime`` seconds of the
  injectable clock later (``expire_tokens`` ends them now); then 401.
- Lists page with **0-based** ``page`` and ``size`` (default 10; more than 200 is served as 200,
  and ``page.size`` says so) in ``{content, page: {size, totalElements, totalPages, number}}``.
- Companies, contacts (CRUD under a company), products (+ pricing, read live every time: tests can
  ``set_price``), subscriptions (``PUT`` needs one of quantity/price/billingTerm/startDate;
  ``DELETE`` cancels, recording history), usage summaries and lines, orders (``POST`` validates
  line items; ``isMock=true`` validates and answers the order without persisting anything),
  invoices and items.
- Errors are Pax8's envelope ``{type, message, instance, status, details[]}`` with ``type`` one of
  ``BAD_REQUEST``, ``INVALID_PARAM``, ``UNAUTHORIZED``, ``NOT_FOUND``, ``UNPROCESSABLE_ENTITY``,
  ``TOO_MANY_REQUESTS``. 429 comes **without** rate-limit headers (documented so).

Not reproduced: ``NOT_REPRODUCED``.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from msplex.sandbox._kit import FakeControls, body_of, json_response, serve_foreground
from msplex.sandbox._pax8_seed import Record, Store, seed

__all__ = ["AUDIENCE", "MAX_PAGE_SIZE", "NOT_REPRODUCED", "Application", "Pax8Error", "Pax8Fake"]

AUDIENCE = "https://api.pax8.com"
MAX_PAGE_SIZE = 200
NOT_REPRODUCED = (
    "the token-manager.pax8.com and legacy login.pax8.com token hosts, other audiences, OAuth delegation",
    "quotes (a separate v2 API), webhooks, product dependencies, company create/update",
    "provisioning: an order's subscriptions become Active at once; no PendingManual or vendor-side failures",
    "partner-level permissions (every valid client sees every company)",
    "Pax8's exact messages, and the real rate limit (numeric limit unpublished; ours is configurable)",
)


class Pax8Error(Exception):
    def __init__(self, status: int, kind: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.details = status, kind, message, details or []


@dataclass(frozen=True, slots=True)
class Application:
    client_id: str
    client_secret: str


Handler = Callable[[Request, Any], Awaitable[Any]]


@dataclass
class Pax8Fake(FakeControls):
    """One Pax8 partner account (see module docstring). Serve ``app`` with ``serve_in_thread``."""

    applications: list[Application] = field(default_factory=lambda: [Application("pax8-client", "pax8-secret")])
    token_lifetime: float = 86400.0
    store: Store = field(default_factory=seed)
    tokens_issued: int = 0
    epoch: datetime = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        api: list[tuple[str, Handler, str]] = [
            ("/v1/companies", self._companies, "GET"),
            ("/v1/companies/{cid}", self._company, "GET"),
            ("/v1/companies/{cid}/contacts", self._contacts, "GET"),
            ("/v1/companies/{cid}/contacts", self._contact_create, "POST"),
            ("/v1/companies/{cid}/contacts/{xid}", self._contact, "GET"),
            ("/v1/companies/{cid}/contacts/{xid}", self._contact_update, "PUT"),
            ("/v1/companies/{cid}/contacts/{xid}", self._contact_delete, "DELETE"),
            ("/v1/products", self._products, "GET"),
            ("/v1/products/{xid}", self._product, "GET"),
            ("/v1/products/{xid}/pricing", self._pricing, "GET"),
            ("/v1/subscriptions", self._subscriptions, "GET"),
            ("/v1/subscriptions/{xid}", self._subscription, "GET"),
            ("/v1/subscriptions/{xid}", self._subscription_update, "PUT"),
            ("/v1/subscriptions/{xid}", self._subscription_cancel, "DELETE"),
            ("/v1/subscriptions/{xid}/history", self._history, "GET"),
            ("/v1/subscriptions/{xid}/usage-summaries", self._usage_summaries, "GET"),
            ("/v1/usage-summaries/{xid}", self._usage_summary, "GET"),
            ("/v1/usage-summaries/{xid}/usage-lines", self._usage_lines, "GET"),
            ("/v1/orders", self._orders, "GET"),
            ("/v1/orders", self._order_create, "POST"),
            ("/v1/orders/{xid}", self._order, "GET"),
            ("/v1/invoices", self._invoices, "GET"),
            ("/v1/invoices/{xid}", self._invoice, "GET"),
            ("/v1/invoices/{xid}/items", self._invoice_items, "GET"),
        ]
        self.app = Starlette(
            routes=[
                Route("/v1/token", self._token, methods=["POST"]),
                *(Route(path, self._wrap(handler), methods=[method]) for path, handler, method in api),
            ]
        )
        self.app.add_exception_handler(404, self._unknown)
        self.app.add_exception_handler(405, self._unknown)

    # test controls ---------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far stops working now."""
        self._tokens = {k: (who, float("-inf")) for k, (who, _) in self._tokens.items()}

    def set_price(self, product_id: str, price: float) -> None:
        """Change a product's partner price (pricing must never be cached by a client)."""
        self.store["products"][product_id]["_price"] = price

    # the token endpoint ------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        self.record(request, None, None)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _oauth(400, "invalid_request", "The token request must be a JSON body.")
        try:
            body = await body_of(request)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _oauth(400, "invalid_request", "The token request must be a JSON object.")
        if body.get("grant_type") != "client_credentials":
            return _oauth(400, "unsupported_grant_type", "Only client_credentials is supported.")
        app = next((a for a in self.applications if a.client_id == body.get("client_id")), None)
        if app is None or not secrets.compare_digest(app.client_secret, str(body.get("client_secret", ""))):
            return _oauth(401, "access_denied", "Unauthorized")
        if body.get("audience") != AUDIENCE:
            return _oauth(403, "access_denied", f"Service not enabled within domain: {body.get('audience')}")
        token = secrets.token_urlsafe(32)
        self._tokens[token] = (app.client_id, self.clock() + self.token_lifetime)
        self.tokens_issued += 1
        return json_response({"access_token": token, "expires_in": int(self.token_lifetime), "token_type": "Bearer"})

    # plumbing ------------------------------------------------------------------------

    def _wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            path = request.url.path
            try:
                body = await body_of(request)
            except ValueError:
                body = ...
            principal = self._principal(request)
            self.record(request, None if body is ... else body, principal)
            try:
                if self.limited():
                    raise Pax8Error(429, "TOO_MANY_REQUESTS", "Too many requests, slow down.")
                if principal is None:
                    raise Pax8Error(401, "UNAUTHORIZED", "Full authentication is required to access this resource")
                if (failure := self.injected_failure()) is not None:
                    return failure
                if body is ...:
                    raise Pax8Error(400, "BAD_REQUEST", "The request body is not valid JSON.")
                result = await handler(request, body)
            except Pax8Error as err:
                envelope = {
                    "type": err.kind,
                    "message": err.message,
                    "instance": path,
                    "status": err.status,
                    "details": [{"instance": path, "status": err.status, **d} for d in err.details],
                }
                return json_response(envelope, err.status)
            if result is None:
                return Response(status_code=204)
            status = 201 if request.method == "POST" and request.query_params.get("isMock") != "true" else 200
            return json_response(result, status)

        return endpoint

    def _principal(self, request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        held = self._tokens.get(value) if scheme.lower() == "bearer" else None
        return held[0] if held is not None and held[1] > self.clock() else None

    async def _unknown(self, request: Request, exc: Exception) -> Response:
        body = {
            "type": "NOT_FOUND",
            "message": "No handler found",
            "instance": request.url.path,
            "status": 404,
            "details": [],
        }
        return json_response(body, 404)

    def _now(self) -> str:
        return (self.epoch + timedelta(seconds=self.clock())).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def _one(self, kind: str, xid: str, noun: str) -> Record:
        record = self.store[kind].get(xid)
        if record is None:
            raise Pax8Error(404, "NOT_FOUND", f"{noun} with id {xid} not found")
        return record

    # companies and contacts --------------------------------------------------------

    async def _companies(self, request: Request, body: Any) -> Any:
        q = request.query_params
        rows = [
            c
            for c in self.store["companies"].values()
            if _matches(c, q, {"status": "status", "city": "address.city", "country": "address.country"})
        ]
        return _page(rows, q)

    async def _company(self, request: Request, body: Any) -> Any:
        return _public(self._one("companies", request.path_params["cid"], "Company"))

    def _company_contacts(self, request: Request) -> list[Record]:
        cid = self._one("companies", request.path_params["cid"], "Company")["id"]
        return [c for c in self.store["contacts"].values() if c["companyId"] == cid]

    def _company_contact(self, request: Request) -> Record:
        xid = request.path_params["xid"]
        found = next((c for c in self._company_contacts(request) if c["id"] == xid), None)
        if found is None:
            raise Pax8Error(404, "NOT_FOUND", f"Contact with id {xid} not found")
        return found

    async def _contacts(self, request: Request, body: Any) -> Any:
        return _page(self._company_contacts(request), request.query_params)

    async def _contact(self, request: Request, body: Any) -> Any:
        return _public(self._company_contact(request))

    async def _contact_create(self, request: Request, body: Any) -> Any:
        self._company_contacts(request)
        contact = _contact_fields(body)
        contact.update(id=str(uuid.uuid4()), companyId=request.path_params["cid"], createdDate=self._now())
        self.store["contacts"][contact["id"]] = contact
        return _public(contact)

    async def _contact_update(self, request: Request, body: Any) -> Any:
        current = self._company_contact(request)
        current.update(_contact_fields(body))
        return _public(current)

    async def _contact_delete(self, request: Request, body: Any) -> Any:
        del self.store["contacts"][self._company_contact(request)["id"]]
        return None

    # products -----------------------------------------------------------------------

    async def _products(self, request: Request, body: Any) -> Any:
        q = request.query_params
        rows = list(self.store["products"].values())
        if search := q.get("search"):
            rows = [p for p in rows if search.casefold() in f"{p['name']} {p['sku']}".casefold()]
        if vendor := q.get("vendorName"):
            rows = [p for p in rows if p["vendorName"].casefold() == vendor.casefold()]
        return _page(rows, q)

    async def _product(self, request: Request, body: Any) -> Any:
        return _public(self._one("products", request.path_params["xid"], "Product"))

    async def _pricing(self, request: Request, body: Any) -> Any:
        product = self._one("products", request.path_params["xid"], "Product")
        if company := request.query_params.get("companyId"):
            self._one("companies", company, "Company")
        rows = [
            {
                "productId": product["id"],
                "productName": product["name"],
                "billingTerm": term,
                "type": "Flat",
                "unitOfMeasurement": "GB" if product["_usageBased"] else "User",
                "rates": [
                    {
                        "partnerBuyRate": round(product["_price"] * (10 if term == "Annual" else 1), 2),
                        "suggestedRetailPrice": round(product["_price"] * 1.2 * (10 if term == "Annual" else 1), 2),
                        "startQuantityRange": 1,
                        "endQuantityRange": None,
                        "chargeType": "Per Unit",
                    }
                ],
            }
            for term in product["_terms"]
        ]
        return {"content": rows}

    # subscriptions and usage --------------------------------------------------------

    async def _subscriptions(self, request: Request, body: Any) -> Any:
        q = request.query_params
        keys = {"companyId": "companyId", "productId": "productId", "status": "status", "billingTerm": "billingTerm"}
        return _page([s for s in self.store["subscriptions"].values() if _matches(s, q, keys)], q)

    async def _subscription(self, request: Request, body: Any) -> Any:
        return _public(self._one("subscriptions", request.path_params["xid"], "Subscription"))

    async def _subscription_update(self, request: Request, body: Any) -> Any:
        sub = self._one("subscriptions", request.path_params["xid"], "Subscription")
        allowed = ("quantity", "price", "billingTerm", "startDate")
        if not isinstance(body, dict) or not any(k in body for k in allowed):
            raise Pax8Error(400, "BAD_REQUEST", "At least one of quantity, price, billingTerm or startDate is required")
        if "quantity" in body and (not isinstance(body["quantity"], int) or body["quantity"] < 1):
            raise Pax8Error(
                422,
                "UNPROCESSABLE_ENTITY",
                "Invalid quantity",
                [{"type": "INVALID_PARAM", "message": "quantity must be a positive integer"}],
            )
        if sub["status"] == "Cancelled":
            raise Pax8Error(422, "UNPROCESSABLE_ENTITY", "A cancelled subscription cannot be changed")
        self._history_entry(sub, "Update")
        sub.update({k: body[k] for k in allowed if k in body}, updatedDate=self._now())
        return _public(sub)

    async def _subscription_cancel(self, request: Request, body: Any) -> Any:
        sub = self._one("subscriptions", request.path_params["xid"], "Subscription")
        if sub["status"] == "Cancelled":
            raise Pax8Error(422, "UNPROCESSABLE_ENTITY", "The subscription is already cancelled")
        self._history_entry(sub, "Cancel")
        when = request.query_params.get("cancelDate") or self._now()
        sub.update(status="Cancelled", endDate=when, updatedDate=self._now())
        return None

    def _history_entry(self, sub: Record, action: str) -> None:
        entry = {
            **copy.deepcopy(sub),
            "id": str(uuid.uuid4()),
            "subscriptionId": sub["id"],
            "action": action,
            "createdDate": self._now(),
        }
        self.store["history"][entry["id"]] = entry

    async def _history(self, request: Request, body: Any) -> Any:
        sub = self._one("subscriptions", request.path_params["xid"], "Subscription")
        return [_public(h) for h in self.store["history"].values() if h["subscriptionId"] == sub["id"]]

    async def _usage_summaries(self, request: Request, body: Any) -> Any:
        sub = self._one("subscriptions", request.path_params["xid"], "Subscription")
        return _page(
            [u for u in self.store["usage"].values() if u["subscriptionId"] == sub["id"]], request.query_params
        )

    async def _usage_summary(self, request: Request, body: Any) -> Any:
        return _public(self._one("usage", request.path_params["xid"], "Usage summary"))

    async def _usage_lines(self, request: Request, body: Any) -> Any:
        summary = self._one("usage", request.path_params["xid"], "Usage summary")
        day = request.query_params.get("usageDate")
        rows = [
            ln
            for ln in self.store["usage_lines"].values()
            if ln["usageSummaryId"] == summary["id"] and (day is None or ln["usageDate"] == day)
        ]
        return _page(rows, request.query_params)

    # orders ---------------------------------------------------------------------------

    async def _orders(self, request: Request, body: Any) -> Any:
        q = request.query_params
        return _page([o for o in self.store["orders"].values() if _matches(o, q, {"companyId": "companyId"})], q)

    async def _order(self, request: Request, body: Any) -> Any:
        return _public(self._one("orders", request.path_params["xid"], "Order"))

    async def _order_create(self, request: Request, body: Any) -> Any:
        mock = request.query_params.get("isMock") == "true"
        lines = self._validated_order(body)
        order = {
            "id": str(uuid.uuid4()),
            "companyId": body["companyId"],
            "createdDate": self._now(),
            "orderedBy": "Pax8 Partner",
            "orderedByUserEmail": body.get("orderedByUserEmail"),
            "isMock": mock,
            "lineItems": lines,
        }
        if mock:
            return order
        for line in lines:
            product = self.store["products"][line["productId"]]
            sub = {
                "id": str(uuid.uuid4()),
                "partnerId": None,
                "companyId": order["companyId"],
                "productId": product["id"],
                "quantity": line["quantity"],
                "startDate": self._now(),
                "endDate": None,
                "createdDate": self._now(),
                "updatedDate": self._now(),
                "billingStart": self._now(),
                "status": "Active",
                "price": product["_price"],
                "currencyCode": "USD",
                "billingTerm": line["billingTerm"],
                "provisioningDetails": line["provisioningDetails"],
            }
            self.store["subscriptions"][sub["id"]] = sub
            line["subscriptionId"] = sub["id"]
        self.store["orders"][order["id"]] = order
        return order

    def _validated_order(self, body: Any) -> list[Record]:
        if not isinstance(body, dict) or not isinstance(body.get("companyId"), str):
            raise Pax8Error(400, "BAD_REQUEST", "companyId is required")
        if body["companyId"] not in self.store["companies"]:
            raise Pax8Error(404, "NOT_FOUND", f"Company with id {body['companyId']} not found")
        items = body.get("lineItems")
        if not isinstance(items, list) or not items:
            raise Pax8Error(400, "BAD_REQUEST", "lineItems must contain at least one line item")
        problems: list[dict[str, Any]] = []
        lines: list[Record] = []
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append({"type": "INVALID_PARAM", "message": f"lineItems[{n}] must be an object"})
                continue
            product = self.store["products"].get(str(item.get("productId")))
            quantity = item.get("quantity")
            if product is None:
                problems.append({"type": "INVALID_PARAM", "message": f"lineItems[{n}].productId is not a product"})
                continue
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                problems.append({"type": "INVALID_PARAM", "message": f"lineItems[{n}].quantity must be at least 1"})
            if item.get("billingTerm") not in product["_terms"]:
                problems.append(
                    {
                        "type": "INVALID_PARAM",
                        "message": f"lineItems[{n}].billingTerm must be one of {product['_terms']}",
                    }
                )
            details = item.get("provisioningDetails") or []
            given = {d.get("key") for d in details if isinstance(d, dict)}
            problems += [
                {"type": "INVALID_PARAM", "message": f"lineItems[{n}].provisioningDetails needs {key}"}
                for key in product["_provisioning"]
                if key not in given
            ]
            lines.append(
                {
                    "id": str(uuid.uuid4()),
                    "productId": product["id"],
                    "subscriptionId": None,
                    "lineItemNumber": item.get("lineItemNumber", n + 1),
                    "billingTerm": item.get("billingTerm"),
                    "quantity": quantity,
                    "provisioningDetails": details,
                    "commitmentTermId": item.get("commitmentTermId"),
                }
            )
        if problems:
            raise Pax8Error(422, "UNPROCESSABLE_ENTITY", "The order is not valid", problems)
        return lines

    # invoices ---------------------------------------------------------------------------

    async def _invoices(self, request: Request, body: Any) -> Any:
        company = request.query_params.get("companyId")
        rows = [
            i
            for i in self.store["invoices"].values()
            if company is None or any(it["companyId"] == company for it in i["_items"])
        ]
        return _page(rows, request.query_params)

    async def _invoice(self, request: Request, body: Any) -> Any:
        return _public(self._one("invoices", request.path_params["xid"], "Invoice"))

    async def _invoice_items(self, request: Request, body: Any) -> Any:
        invoice = self._one("invoices", request.path_params["xid"], "Invoice")
        company = request.query_params.get("companyId")
        rows = [it for it in invoice["_items"] if company is None or it["companyId"] == company]
        return _page(rows, request.query_params)


def _public(record: Record) -> Record:
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def _lookup(record: Record, dotted: str) -> Any:
    node: Any = record
    for step in dotted.split("."):
        node = node.get(step) if isinstance(node, dict) else None
    return node


def _matches(record: Record, query: Mapping[str, str], keys: Mapping[str, str]) -> bool:
    return all(
        str(_lookup(record, path)).casefold() == query[param].casefold()
        for param, path in keys.items()
        if param in query
    )


def _int_param(query: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise Pax8Error(
            400,
            "INVALID_PARAM",
            f"{name} must be an integer of at least {minimum}",
            [{"type": "INVALID_PARAM", "message": f"{name}={raw!r} is not valid"}],
        )
    return value


def _page(records: list[Record], query: Mapping[str, str]) -> Record:
    page = _int_param(query, "page", 0, 0)
    size = min(_int_param(query, "size", 10, 1), MAX_PAGE_SIZE)
    sort = query.get("sort")
    ordered = list(records)
    if sort:
        key, _, direction = sort.partition(",")
        ordered.sort(key=lambda r: str(_lookup(r, key) or ""), reverse=direction.lower() == "desc")
    total = len(ordered)
    window = ordered[page * size : (page + 1) * size]
    return {
        "content": [_public(r) for r in window],
        "page": {"size": size, "totalElements": total, "totalPages": -(-total // size), "number": page},
    }


def _contact_fields(body: Any) -> Record:
    if not isinstance(body, dict):
        raise Pax8Error(400, "BAD_REQUEST", "A contact must be a JSON object")
    missing = [k for k in ("firstName", "lastName", "email") if not body.get(k)]
    if missing:
        raise Pax8Error(
            422,
            "UNPROCESSABLE_ENTITY",
            "The contact is not valid",
            [{"type": "INVALID_PARAM", "message": f"{k} is required"} for k in missing],
        )
    keys = ("firstName", "lastName", "email", "phone", "types")
    return {k: copy.deepcopy(body[k]) for k in keys if k in body}


def _oauth(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def main(argv: list[str] | None = None) -> None:
    """Serve the fake in the foreground (the sandbox demo)."""
    banner = "Pax8 fake (token POST /v1/token; client pax8-client / pax8-secret)"
    serve_foreground(Pax8Fake().app, "msplex.sandbox.pax8", 8783, banner, argv)


if __name__ == "__main__":
    main()
