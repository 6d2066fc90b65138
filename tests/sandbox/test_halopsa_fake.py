"""The HaloPSA fake keeps Halo's contract: a connector that passes against it met the vendor's rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from msplex.sandbox._server import serve_in_thread
from msplex.sandbox.halopsa import Application, HaloFake

FORM = {"grant_type": "client_credentials", "client_id": "halo-client", "client_secret": "halo-secret"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> HaloFake:
    return HaloFake(
        clock=clock,
        applications=[
            Application("halo-client", "halo-secret"),
            Application("reader", "reader-secret", frozenset({"read:tickets", "read:customers"})),
        ],
    )


@pytest.fixture
def http(fake: HaloFake) -> Iterator[httpx.Client]:
    server = serve_in_thread(fake.app)
    try:
        with httpx.Client(base_url=server.url) as client:
            yield client
    finally:
        server.stop()


def _token(http: httpx.Client, **form: str) -> str:
    response = http.post("/auth/token", params={"tenant": "msplex"}, data={**FORM, **form})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _get(http: httpx.Client, path: str, token: str, **params: Any) -> httpx.Response:
    return http.get(path, params=params, headers={"authorization": f"Bearer {token}"})


def _post(http: httpx.Client, path: str, token: str, body: Any) -> httpx.Response:
    return http.post(path, json=body, headers={"authorization": f"Bearer {token}"})


# authentication ---------------------------------------------------------------


def test_authinfo_names_the_auth_server_whose_token_endpoint_takes_a_form(http: httpx.Client) -> None:
    auth_url = http.get("/api/authinfo").json()["auth_url"]
    assert auth_url == str(http.base_url).rstrip("/") + "/auth"
    response = http.post(f"{auth_url}/token", params={"tenant": "msplex"}, data={**FORM, "scope": "all"})
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "all"


def test_token_endpoint_refuses_json_bodies_wrong_tenants_bad_secrets_and_unknown_scopes(http: httpx.Client) -> None:
    as_json = http.post("/auth/token", params={"tenant": "msplex"}, json=FORM)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    wrong_tenant = http.post("/auth/token", params={"tenant": "other"}, data=FORM)
    assert wrong_tenant.status_code == 400 and wrong_tenant.json()["error"] == "invalid_request"
    bad_secret = http.post("/auth/token", params={"tenant": "msplex"}, data={**FORM, "client_secret": "nope"})
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    reader = {**FORM, "client_id": "reader", "client_secret": "reader-secret", "scope": "edit:tickets"}
    too_wide = http.post("/auth/token", params={"tenant": "msplex"}, data=reader)
    assert too_wide.status_code == 400 and too_wide.json()["error"] == "invalid_scope"


def test_tenant_may_also_travel_in_the_form_body(http: httpx.Client) -> None:
    response = http.post("/auth/token", data={**FORM, "tenant": "msplex"})
    assert response.status_code == 200


def test_tokens_expire_on_the_clock_and_on_demand(http: httpx.Client, fake: HaloFake, clock: Clock) -> None:
    token = _token(http)
    assert _get(http, "/api/Status", token).status_code == 200
    clock.now += 3600
    expired = _get(http, "/api/Status", token)
    assert expired.status_code == 401 and expired.content == b"" and "Bearer" in expired.headers["www-authenticate"]
    fresh = _token(http)
    fake.expire_tokens()
    assert _get(http, "/api/Status", fresh).status_code == 401
    assert fake.tokens_issued == 2


def test_a_read_scope_cannot_write_and_is_told_so_in_plain_text(http: httpx.Client) -> None:
    token = _token(http, client_id="reader", client_secret="reader-secret", scope="read:tickets")
    assert _get(http, "/api/Tickets", token).status_code == 200
    refused = _post(http, "/api/Tickets", token, [{"summary": "x", "client_id": 11}])
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/plain")
    assert _get(http, "/api/Asset", token).status_code == 403  # no read:assets


# paging --------------------------------------------------------------------------


def test_page_size_is_ignored_without_page_no(http: httpx.Client) -> None:
    token = _token(http)
    body = _get(http, "/api/Tickets", token, pageinate="true", page_size=10).json()
    assert body["record_count"] == 67 and body["page_size"] == 50 and len(body["tickets"]) == 50


def test_page_size_with_page_no_pages_through_a_list_that_needs_two_pages(http: httpx.Client) -> None:
    token = _token(http)
    first = _get(http, "/api/Tickets", token, client_id=11, pageinate="true", page_size=50, page_no=1).json()
    second = _get(http, "/api/Tickets", token, client_id=11, pageinate="true", page_size=50, page_no=2).json()
    assert first["record_count"] == second["record_count"] == 60
    assert len(first["tickets"]) == 50 and len(second["tickets"]) == 10
    ids = [t["id"] for t in first["tickets"] + second["tickets"]]
    assert len(set(ids)) == 60 and all(t["client_id"] == 11 for t in second["tickets"])


def test_without_pageinate_everything_or_count_comes_back(http: httpx.Client) -> None:
    token = _token(http)
    assert len(_get(http, "/api/Tickets", token).json()["tickets"]) == 67
    assert len(_get(http, "/api/Tickets", token, count=5).json()["tickets"]) == 5


def test_lists_sit_under_their_resource_key_and_lookups_are_bare_arrays(http: httpx.Client) -> None:
    token = _token(http)
    for path, key in [("/api/Client", "clients"), ("/api/site", "sites"), ("/api/Users", "users"),
                      ("/api/Asset", "assets"), ("/api/KBArticle", "articles"),
                      ("/api/ClientContract", "contracts"), ("/api/Invoice", "invoices")]:  # fmt: skip
        body = _get(http, path, token).json()
        assert isinstance(body[key], list) and body["record_count"] == len(body[key]), path
    for path in ("/api/Status", "/api/TicketType", "/api/Category", "/api/Outcome", "/api/TimesheetEvent"):
        assert isinstance(_get(http, path, token).json(), list), path
    clients = _get(http, "/api/Client", token).json()["clients"]
    assert {c["name"] for c in clients} == {"Contoso Ltd", "Fabrikam Inc"}


def test_filters_search_and_unknown_parameters(http: httpx.Client) -> None:
    token = _token(http)
    fabrikam = _get(http, "/api/Asset", token, client_id=12, nonsense="1").json()
    assert {a["client_id"] for a in fabrikam["assets"]} == {12} and fabrikam["record_count"] == 3
    found = _get(http, "/api/Asset", token, search="10.2.0.5").json()["assets"]
    assert [a["inventory_number"] for a in found] == ["FAB-SRV-01"]
    open_only = _get(http, "/api/Tickets", token, open_only="true").json()["tickets"]
    assert all(t["status_id"] != 9 for t in open_only)


# writes ------------------------------------------------------------------------------


def test_tickets_are_created_and_updated_by_posting_arrays(http: httpx.Client) -> None:
    token = _token(http)
    created = _post(http, "/api/Tickets", token, [{"summary": "Screen flickers", "client_id": 12, "site_id": 201}])
    ticket = created.json()
    assert created.status_code == 200 and ticket["client_name"] == "Fabrikam Inc" and ticket["status_id"] == 1
    updated = _post(http, "/api/Tickets", token, [{"id": ticket["id"], "status_id": 2}]).json()
    assert updated["status_id"] == 2 and updated["summary"] == "Screen flickers"
    assert _get(http, f"/api/Tickets/{ticket['id']}", token).json()["status_id"] == 2
    two = _post(http, "/api/Tickets", token, [{"summary": "a", "client_id": 11}, {"summary": "b", "client_id": 11}])
    assert isinstance(two.json(), list) and len(two.json()) == 2


def test_writes_refuse_objects_and_inconsistent_links(http: httpx.Client) -> None:
    token = _token(http)
    single = _post(http, "/api/Tickets", token, {"summary": "x", "client_id": 11})
    assert single.status_code == 400 and set(single.json()) == {"ClassName", "Message"}
    foreign_site = _post(http, "/api/Tickets", token, [{"summary": "x", "client_id": 11, "site_id": 201}])
    assert foreign_site.status_code == 400
    moved = _post(http, "/api/Tickets", token, [{"id": 5001, "client_id": 12}])  # keeps Contoso's site
    assert moved.status_code == 400
    assert _get(http, "/api/Tickets/5001", token).json()["client_id"] == 11


def test_actions_need_an_outcome_move_status_and_book_time(http: httpx.Client) -> None:
    token = _token(http)
    missing = _post(http, "/api/Actions", token, [{"ticket_id": 6002, "note": "hi"}])
    assert missing.status_code == 400 and "outcome" in missing.json()["Message"]
    action = _post(
        http, "/api/Actions", token,
        [{"ticket_id": 6002, "note": "Replaced the disk", "outcome": "Update", "timetaken": 1.5, "new_status": 9,
          "hiddenfromuser": False}],
    ).json()  # fmt: skip
    assert action["outcome_id"] == 3 and action["hiddenfromuser"] is False
    assert _get(http, "/api/Tickets/6002", token).json()["status_id"] == 9
    history = _get(http, "/api/Actions", token, ticket_id=6002).json()
    assert [a["note"] for a in history["actions"]] == ["Replaced the disk"]
    events = _get(http, "/api/TimesheetEvent", token).json()
    assert any(e["ticket_id"] == 6002 and e["timetaken"] == 1.5 and e["client_id"] == 12 for e in events)
    days = _get(http, "/api/Timesheet", token, agent_id=1).json()
    assert sum(d["actual_hours"] for d in days) == pytest.approx(
        sum(e["timetaken"] for e in events if e["agent_id"] == 1)
    )


# errors and limits ---------------------------------------------------------------------


def test_error_bodies_are_not_uniform(http: httpx.Client) -> None:
    token = _token(http)
    missing = _get(http, "/api/Tickets/999999", token)
    assert missing.status_code == 404 and isinstance(missing.json(), str)
    route = _get(http, "/api/Nowhere/1/2", token)
    assert route.status_code == 404 and "Message" in route.json()
    bad_int = _get(http, "/api/Tickets", token, client_id="abc")
    assert bad_int.status_code == 400 and "ClassName" in bad_int.json()


def test_rate_limit_is_a_rolling_window_without_retry_after(http: httpx.Client, fake: HaloFake, clock: Clock) -> None:
    fake.rate_limit, fake.rate_window = 3, 60.0
    token = _token(http)
    assert [_get(http, "/api/Status", token).status_code for _ in range(3)] == [200, 200, 200]
    limited = _get(http, "/api/Status", token)
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    assert limited.text.startswith("Rate Limit Reached")
    clock.now += 61
    assert _get(http, "/api/Status", token).status_code == 200


def test_retry_after_and_forced_throttling_and_failures_are_configurable(http: httpx.Client, fake: HaloFake) -> None:
    fake.retry_after = 2
    token = _token(http)
    fake.throttle_next(2)
    statuses = [_get(http, "/api/Status", token) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200] and statuses[0].headers["retry-after"] == "2"
    fake.fail_next(500, {"ClassName": "System.Exception", "Message": "boom"})
    assert _get(http, "/api/Status", token).status_code == 500
    recorded = fake.api_requests("/api/Status")
    assert len(recorded) == 4 and all(r.client_id == "halo-client" for r in recorded)
