"""The NinjaOne fake keeps NinjaOne's contract: form token requests with scopes, ``after`` cursors, ``df``, actions."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from msplex.sandbox._ninja_df import FilterError, parse
from msplex.sandbox.ninjaone import NinjaOneFake
from support.idp import Clock
from support.sandbox import served

FORM = {
    "grant_type": "client_credentials",
    "client_id": "ninja-client",
    "client_secret": "ninja-secret",
    "scope": "monitoring management",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> NinjaOneFake:
    return NinjaOneFake(clock=clock)


@pytest.fixture
def raw(fake: NinjaOneFake) -> Iterator[httpx.Client]:
    with served(fake.app) as client:
        yield client


def _bearer(raw: httpx.Client, **form: str) -> dict[str, str]:
    response = raw.post("/ws/oauth/token", data={**FORM, **form})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def http(raw: httpx.Client) -> httpx.Client:
    raw.headers.update(_bearer(raw))
    return raw


# authentication -----------------------------------------------------------------------------


def test_client_credentials_token_is_an_hour_long_with_the_scopes_asked(raw: httpx.Client) -> None:
    body = raw.post("/ws/oauth/token", data=FORM).json()
    assert body["expires_in"] == 3600 and body["scope"] == "management monitoring" and "refresh_token" not in body


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"scope": "monitoring telepathy"}, 400, "invalid_scope"),
        ({"grant_type": "password"}, 400, "unauthorized_client"),
    ],
)
def test_token_refusals_are_oauth_errors(raw: httpx.Client, form: dict[str, str], status: int, error: str) -> None:
    response = raw.post("/ws/oauth/token", data={**FORM, **form})
    assert response.status_code == status and response.json()["error"] == error


def test_json_token_requests_are_refused(raw: httpx.Client) -> None:
    assert raw.post("/ws/oauth/token", json=FORM).json()["error"] == "invalid_request"


def test_scope_the_app_lacks_is_a_400(fake: NinjaOneFake, raw: httpx.Client) -> None:
    from msplex.sandbox.ninjaone import Application

    fake.applications.append(Application("reader", "r", frozenset({"monitoring"})))
    response = raw.post("/ws/oauth/token", data={**FORM, "client_id": "reader", "client_secret": "r"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_missing_expired_and_under_scoped_tokens_are_refused(raw: httpx.Client, clock: Clock) -> None:
    assert raw.get("/v2/organizations").json() == {"error": "invalid_token"}
    monitoring_only = _bearer(raw, scope="monitoring")
    assert raw.get("/v2/organizations", headers=monitoring_only).status_code == 200
    refused = raw.post("/v2/alert/x/reset", headers=monitoring_only)
    assert refused.status_code == 403 and refused.json()["resultCode"] == "FORBIDDEN"
    clock.advance(3601)
    assert raw.get("/v2/organizations", headers=monitoring_only).status_code == 401


def test_authorization_code_gives_a_user_token_and_a_working_refresh_token(
    fake: NinjaOneFake, raw: httpx.Client
) -> None:
    web = {"client_id": "ninja-web", "client_secret": "web-secret"}
    assert raw.post("/ws/oauth/token", data={**FORM, **web}).json()["error"] == "unauthorized_client"
    code = fake.authorize("ninja-web")
    first = raw.post("/ws/oauth/token", data={"grant_type": "authorization_code", "code": code, **web}).json()
    again = raw.post("/ws/oauth/token", data={"grant_type": "authorization_code", "code": code, **web})
    assert again.json()["error"] == "invalid_grant"  # codes are single-use
    refreshed = raw.post(
        "/ws/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **web}
    ).json()
    headers = {"authorization": f"Bearer {refreshed['access_token']}"}
    run = raw.post("/v2/device/1/script/run", json={"type": "SCRIPT", "id": 42}, headers=headers)
    assert run.status_code == 204 and fake.actions[-1]["kind"] == "script"


def test_script_runs_are_refused_for_client_credentials_tokens(http: httpx.Client) -> None:
    response = http.post("/v2/device/1/script/run", json={"type": "SCRIPT", "id": 42})
    assert response.status_code == 403 and "user-context" in response.json()["errorMessage"]


# paging and df ------------------------------------------------------------------------------------


def test_devices_page_with_page_size_and_the_after_cursor(http: httpx.Client) -> None:
    first = http.get("/v2/devices", params={"pageSize": 50}).json()
    assert [d["id"] for d in first] == list(range(1, 51))
    second = http.get("/v2/devices", params={"pageSize": 50, "after": first[-1]["id"]}).json()
    assert [d["id"] for d in second] == list(range(51, 61))
    assert http.get("/v2/devices", params={"pageSize": 50, "after": 60}).json() == []
    assert http.get("/v2/devices", params={"after": "x"}).json()["resultCode"] == "FAILURE"


def test_without_page_size_the_servers_cap_applies(fake: NinjaOneFake, http: httpx.Client) -> None:
    fake.max_page_size = 20
    assert len(http.get("/v2/devices").json()) == 20
    assert len(http.get("/v2/devices", params={"pageSize": 100}).json()) == 20


@pytest.mark.parametrize(
    ("expr", "count"),
    [
        ("org = 2", 8),
        ("org in (1, 2) AND class = WINDOWS_SERVER", 12),
        ("org = 1 and class in (MAC, LINUX_SERVER)", 20),
        ("status = PENDING", 2),
        ("org = 2 AND offline", 1),
        ("org = 2 AND online", 7),
        ("id not in (1, 2, 3) AND org != 2", 49),
        ("loc = 20", 8),
        ("created after 2026-10-20", 7),
    ],
)
def test_the_device_filter_is_applied(http: httpx.Client, expr: str, count: int) -> None:
    response = http.get("/v2/devices", params={"df": expr})
    assert response.status_code == 200, response.text
    assert len(response.json()) == count


@pytest.mark.parametrize(
    "expr", ["org = 1 OR org = 2", "org = acme", "class = TOASTER", "org >= 1", "colour = red", "org in 1", "org ="]
)
def test_an_unreadable_device_filter_is_a_400_never_all_devices(http: httpx.Client, expr: str) -> None:
    response = http.get("/v2/devices", params={"df": expr})
    assert response.status_code == 400 and response.json()["errorMessage"].startswith("Invalid device filter")
    with pytest.raises(FilterError):
        parse(expr)


def test_fleet_queries_page_with_a_cursor(http: httpx.Client) -> None:
    first = http.get("/v2/queries/device-health", params={"df": "org = 1", "pageSize": 40}).json()
    assert len(first["results"]) == 40
    rest = http.get(
        "/v2/queries/device-health", params={"df": "org = 1", "pageSize": 40, "cursor": first["cursor"]["name"]}
    ).json()
    assert len(rest["results"]) == 12 and rest["results"][-1]["deviceId"] == 52


def test_activities_page_backwards_with_older_than(http: httpx.Client) -> None:
    first = http.get("/v2/device/5/activities", params={"pageSize": 2}).json()
    assert [a["id"] for a in first["activities"]] == [52, 51]
    older = http.get("/v2/device/5/activities", params={"pageSize": 2, "olderThan": first["lastActivityId"]}).json()
    assert [a["id"] for a in older["activities"]] == [50]


# resources ----------------------------------------------------------------------------------------


def test_organizations_locations_and_device_detail(http: httpx.Client) -> None:
    assert [o["name"] for o in http.get("/v2/organizations").json()] == ["Acme Corporation", "Globex Ltd"]
    assert [loc["name"] for loc in http.get("/v2/organization/2/locations").json()] == ["HQ"]
    assert len(http.get("/v2/organization/2/devices").json()) == 8
    device = http.get("/v2/device/53").json()
    assert device["organizationId"] == 2 and device["system"]["serialNumber"] == "SN00053"
    assert not any(k.startswith("_") for k in device)
    for part in ("software", "os-patches", "disks", "alerts"):
        assert isinstance(http.get(f"/v2/device/53/{part}").json(), list), part
    missing = http.get("/v2/device/999")
    assert missing.status_code == 404 and set(missing.json()) == {"resultCode", "errorMessage", "incidentId"}
    assert http.get("/v2/devices/search", params={"q": "globex-ws"}).json()["devices"]


def test_alerts_filter_by_df_and_reset(http: httpx.Client) -> None:
    globex = http.get("/v2/alerts", params={"df": "org = 2"}).json()
    assert {a["deviceId"] for a in globex} == {58, 59, 60}
    assert http.post(f"/v2/alert/{globex[0]['uid']}/reset").status_code == 204
    assert len(http.get("/v2/alerts", params={"df": "org = 2"}).json()) == 2
    assert http.delete(f"/v2/alert/{globex[0]['uid']}").status_code == 404


# ticketing -----------------------------------------------------------------------------------------


def test_board_runs_page_with_last_cursor_id(http: httpx.Client) -> None:
    first = http.post("/v2/ticketing/trigger/board/1/run", json={"pageSize": 25}).json()
    assert len(first["data"]) == 25
    rest = http.post(
        "/v2/ticketing/trigger/board/1/run", json={"pageSize": 25, "lastCursorId": first["metadata"]["lastCursorId"]}
    ).json()
    assert len(rest["data"]) == 8 and rest["data"][-1]["clientId"] == 2
    globex = http.post(
        "/v2/ticketing/trigger/board/1/run", json={"filters": [{"field": "clientId", "operator": "eq", "value": 2}]}
    ).json()
    assert {r["clientId"] for r in globex["data"]} == {2}


def test_tickets_are_created_updated_and_commented_with_multipart(http: httpx.Client) -> None:
    bad = http.post("/v2/ticketing/ticket", json={"clientId": 1, "ticketFormId": 1, "subject": "x", "nodeId": 53})
    assert bad.status_code == 400 and "does not belong" in bad.json()["errorMessage"]
    made = http.post(
        "/v2/ticketing/ticket",
        json={
            "clientId": 2,
            "ticketFormId": 1,
            "subject": "Printer",
            "description": {"body": "jammed", "public": True},
        },
    ).json()
    assert made["status"]["name"] == "NEW"
    updated = http.put(f"/v2/ticketing/ticket/{made['id']}", json={"status": "5000"}).json()
    assert updated["status"]["name"] == "RESOLVED" and updated["version"] == 2
    as_json = http.post(f"/v2/ticketing/ticket/{made['id']}/comment", json={"body": "hi"})
    assert as_json.status_code == 400
    comment = json.dumps({"body": "Fixed", "public": False, "timeTracked": 600})
    multipart = http.post(f"/v2/ticketing/ticket/{made['id']}/comment", files={"comment": (None, comment)})
    assert multipart.status_code == 204
    log = http.get(f"/v2/ticketing/ticket/{made['id']}/log-entry").json()
    assert [(e["body"], e["publicEntry"]) for e in log] == [("Fixed", False)]


# actions, 429 -------------------------------------------------------------------------------------------


def test_actions_are_recorded_and_validated(fake: NinjaOneFake, http: httpx.Client) -> None:
    assert http.post("/v2/device/3/reboot/NORMAL", json={"reason": "patching"}).status_code == 204
    assert http.post("/v2/device/3/reboot/GENTLY").status_code == 400
    assert http.post("/v2/device/1/windows-service/Spooler/restart").status_code == 204
    assert http.post("/v2/device/3/windows-service/Spooler/restart").status_code == 400  # device 3 is a Mac
    assert http.post("/v2/device/1/patch/os/apply").status_code == 204
    assert [a["kind"] for a in fake.actions] == ["reboot", "windows-service", "patch-apply"]


def test_429_with_optional_retry_after(fake: NinjaOneFake, http: httpx.Client, clock: Clock) -> None:
    fake.throttle_next()
    plain = http.get("/v2/organizations")
    assert plain.status_code == 429 and "retry-after" not in plain.headers
    assert plain.json()["resultCode"] == "TOO_MANY_REQUESTS"
    fake.retry_after = 7
    fake.rate_limit, fake.rate_window = 1, 60.0
    fake.requests.clear()
    clock.advance(120)
    assert http.get("/v2/organizations").status_code == 200
    throttled = http.get("/v2/organizations")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "7"
