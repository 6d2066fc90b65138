"""The Pax8 fake keeps Pax8's contract: JSON token requests with an audience, 0-based pages, isMock orders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from msplex.sandbox._pax8_seed import ACME, GLOBEX, pid
from msplex.sandbox.pax8 import AUDIENCE, Pax8Fake
from support.idp import Clock
from support.sandbox import served

CREDENTIALS = {
    "client_id": "pax8-client",
    "client_secret": "pax8-secret",
    "audience": AUDIENCE,
    "grant_type": "client_credentials",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Pax8Fake:
    return Pax8Fake(clock=clock)


@pytest.fixture
def raw(fake: Pax8Fake) -> Iterator[httpx.Client]:
    with served(fake.app) as client:
        yield client


@pytest.fixture
def http(raw: httpx.Client) -> httpx.Client:
    token = raw.post("/v1/token", json=CREDENTIALS).json()["access_token"]
    raw.headers["authorization"] = f"Bearer {token}"
    return raw


# authentication ----------------------------------------------------------------------


def test_token_request_is_json_with_the_api_audience_and_lasts_a_day(raw: httpx.Client) -> None:
    body = raw.post("/v1/token", json=CREDENTIALS).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400 and body["access_token"]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "access_denied"),
        ({"client_id": "nobody"}, 401, "access_denied"),
        ({"audience": "api://p8p.client"}, 403, "access_denied"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
def test_token_request_refusals_use_oauth_errors(
    raw: httpx.Client, change: dict[str, str], status: int, error: str
) -> None:
    response = raw.post("/v1/token", json={**CREDENTIALS, **change})
    assert response.status_code == status and response.json()["error"] == error
    assert "pax8-secret" not in response.text


def test_a_form_encoded_token_request_is_refused(raw: httpx.Client) -> None:
    response = raw.post("/v1/token", data=CREDENTIALS)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_api_without_a_valid_token_answers_pax8s_envelope(raw: httpx.Client) -> None:
    for headers in ({}, {"authorization": "Bearer forged"}):
        response = raw.get("/v1/companies", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["type"] == "UNAUTHORIZED" and body["status"] == 401 and body["instance"] == "/v1/companies"
        assert body["details"] == []


def test_tokens_expire_after_a_day_of_the_clock(http: httpx.Client, fake: Pax8Fake, clock: Clock) -> None:
    assert http.get("/v1/companies").status_code == 200
    clock.now += 86399
    assert http.get("/v1/companies").status_code == 200
    clock.now += 2
    assert http.get("/v1/companies").status_code == 401
    assert fake.tokens_issued == 1


def test_expire_tokens_ends_them_now(http: httpx.Client, fake: Pax8Fake) -> None:
    fake.expire_tokens()
    assert http.get("/v1/companies").status_code == 401


# paging ---------------------------------------------------------------------------------


def test_subscriptions_need_two_zero_based_pages_of_ten(http: httpx.Client) -> None:
    first = http.get("/v1/subscriptions").json()
    assert len(first["content"]) == 10
    assert first["page"] == {"size": 10, "totalElements": 12, "totalPages": 2, "number": 0}
    second = http.get("/v1/subscriptions", params={"page": 1}).json()
    assert len(second["content"]) == 2 and second["page"]["number"] == 1
    ids = {s["id"] for s in first["content"]} | {s["id"] for s in second["content"]}
    assert len(ids) == 12
    assert http.get("/v1/subscriptions", params={"page": 2}).json()["content"] == []


def test_size_above_200_is_served_as_200_and_bad_paging_is_an_invalid_param(http: httpx.Client) -> None:
    assert http.get("/v1/subscriptions", params={"size": 500}).json()["page"]["size"] == 200
    bad = http.get("/v1/subscriptions", params={"page": -1})
    assert bad.status_code == 400 and bad.json()["type"] == "INVALID_PARAM"


def test_filters_narrow_lists_to_one_company(http: httpx.Client) -> None:
    globex = http.get("/v1/subscriptions", params={"companyId": GLOBEX}).json()
    assert globex["page"]["totalElements"] == 3 and {s["companyId"] for s in globex["content"]} == {GLOBEX}
    assert [c["name"] for c in http.get("/v1/companies", params={"city": "springfield"}).json()["content"]] == [
        "Acme Corporation"
    ]
    contacts = http.get(f"/v1/companies/{GLOBEX}/contacts").json()["content"]
    assert [c["firstName"] for c in contacts] == ["Hank"]
    wrong_company = http.get(f"/v1/companies/{GLOBEX}/contacts/{pid('contact:wile')}")
    assert wrong_company.status_code == 404 and wrong_company.json()["type"] == "NOT_FOUND"


# products and pricing ---------------------------------------------------------------------


def test_pricing_is_live(http: httpx.Client, fake: Pax8Fake) -> None:
    product = pid("product:m365-basic")
    before = http.get(f"/v1/products/{product}/pricing", params={"companyId": ACME}).json()["content"]
    assert {p["billingTerm"] for p in before} == {"Monthly", "Annual"}
    fake.set_price(product, 7.0)
    after = http.get(f"/v1/products/{product}/pricing").json()["content"]
    assert next(p for p in after if p["billingTerm"] == "Monthly")["rates"][0]["partnerBuyRate"] == 7.0
    assert all(not k.startswith("_") for k in http.get(f"/v1/products/{product}").json())


# orders and subscription writes ---------------------------------------------------------------


def _order(**line: Any) -> dict[str, Any]:
    item = {"productId": pid("product:duo-mfa"), "quantity": 5, "billingTerm": "Monthly", "lineItemNumber": 1, **line}
    return {"companyId": ACME, "lineItems": [item]}


def test_a_mock_order_validates_and_persists_nothing(http: httpx.Client) -> None:
    before = http.get("/v1/orders").json()["page"]["totalElements"]
    mock = http.post("/v1/orders", params={"isMock": "true"}, json=_order())
    assert mock.status_code == 200 and mock.json()["isMock"] is True
    assert http.get("/v1/orders").json()["page"]["totalElements"] == before
    assert http.get("/v1/subscriptions").json()["page"]["totalElements"] == 12
    real = http.post("/v1/orders", json=_order())
    assert real.status_code == 201
    order = real.json()
    assert http.get(f"/v1/orders/{order['id']}").json()["companyId"] == ACME
    sub = http.get(f"/v1/subscriptions/{order['lineItems'][0]['subscriptionId']}").json()
    assert sub["quantity"] == 5 and sub["status"] == "Active"


def test_invalid_orders_answer_422_with_details(http: httpx.Client) -> None:
    response = http.post(
        "/v1/orders",
        params={"isMock": "true"},
        json=_order(productId=pid("product:m365-basic"), quantity=0, billingTerm="2-Year"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "UNPROCESSABLE_ENTITY"
    messages = " ".join(d["message"] for d in body["details"])
    assert "quantity" in messages and "billingTerm" in messages and "tenantDomain" in messages
    assert http.post("/v1/orders", json={"companyId": "nope", "lineItems": []}).status_code == 404


def test_seat_changes_need_a_field_and_cancellation_is_recorded(http: httpx.Client) -> None:
    sid = pid("subscription:0")
    assert http.put(f"/v1/subscriptions/{sid}", json={}).json()["type"] == "BAD_REQUEST"
    assert http.put(f"/v1/subscriptions/{sid}", json={"quantity": 30}).json()["quantity"] == 30
    assert http.delete(f"/v1/subscriptions/{sid}", params={"cancelDate": "2026-12-31"}).status_code == 204
    assert http.get(f"/v1/subscriptions/{sid}").json()["status"] == "Cancelled"
    assert [h["action"] for h in http.get(f"/v1/subscriptions/{sid}/history").json()] == ["Update", "Cancel"]


def test_usage_and_invoices_read_per_company(http: httpx.Client) -> None:
    acronis = http.get("/v1/subscriptions", params={"companyId": ACME, "productId": pid("product:acronis")}).json()
    sub = acronis["content"][0]["id"]
    summaries = http.get(f"/v1/subscriptions/{sub}/usage-summaries").json()["content"]
    lines = http.get(f"/v1/usage-summaries/{summaries[0]['id']}/usage-lines").json()
    assert lines["page"]["totalElements"] == 3
    invoice = http.get("/v1/invoices").json()["content"][0]
    items = http.get(f"/v1/invoices/{invoice['id']}/items", params={"companyId": GLOBEX, "size": 200}).json()
    assert {i["companyId"] for i in items["content"]} == {GLOBEX}


def test_contacts_are_created_updated_and_deleted_under_their_company(http: httpx.Client) -> None:
    bad = http.post(f"/v1/companies/{ACME}/contacts", json={"firstName": "X"})
    assert bad.status_code == 422 and len(bad.json()["details"]) == 2
    made = http.post(
        f"/v1/companies/{ACME}/contacts", json={"firstName": "A", "lastName": "B", "email": "a@b.c"}
    ).json()
    path = f"/v1/companies/{ACME}/contacts/{made['id']}"
    assert http.put(path, json={"firstName": "A", "lastName": "C", "email": "a@b.c"}).json()["lastName"] == "C"
    assert http.delete(path).status_code == 204 and http.get(path).status_code == 404


# 429 ----------------------------------------------------------------------------------------------


def test_429_has_the_envelope_and_no_rate_limit_headers(http: httpx.Client, fake: Pax8Fake, clock: Clock) -> None:
    fake.rate_limit, fake.rate_window = 2, 60.0
    statuses = [http.get("/v1/companies").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = http.get("/v1/companies")
    assert throttled.json()["type"] == "TOO_MANY_REQUESTS" and throttled.json()["status"] == 429
    assert not any(h.startswith(("retry-after", "x-ratelimit")) for h in throttled.headers)
    clock.now += 61
    assert http.get("/v1/companies").status_code == 200


def test_unknown_routes_and_records_answer_not_found(http: httpx.Client) -> None:
    assert http.get("/v1/nothing").json()["type"] == "NOT_FOUND"
    assert http.get(f"/v1/companies/{pid('nobody')}").json()["message"].startswith("Company with id")
