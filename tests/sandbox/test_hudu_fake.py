"""The Hudu fake keeps Hudu's contract (msp-apis.md §2, §9): a real server on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from msplex.sandbox.hudu import DEMO_KEY, HuduFake
from msplex.sandbox.hudu_seed import CONTOSO, FABRIKAM, SECRETS


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def running(clock: Clock) -> Iterator[tuple[HuduFake, str]]:
    fake = HuduFake(limit=5, period=300.0, clock=clock)
    served = fake.start()
    yield fake, served.url
    served.stop()


@pytest.fixture
def fake(running: tuple[HuduFake, str]) -> HuduFake:
    return running[0]


@pytest.fixture
def base(running: tuple[HuduFake, str]) -> str:
    return running[1]


@pytest.fixture
def api(fake: HuduFake, base: str) -> Iterator[httpx.Client]:
    fake.limit = 10_000
    with httpx.Client(base_url=f"{base}/api/v1", headers={"x-api-key": DEMO_KEY}) as client:
        yield client


def test_the_api_key_header_is_required_and_must_be_known(base: str) -> None:
    url = f"{base}/api/v1/companies"
    missing = httpx.get(url)
    wrong = httpx.get(url, headers={"x-api-key": "not-a-key"})
    bearer = httpx.get(url, headers={"Authorization": f"Bearer {DEMO_KEY}"})
    assert (missing.status_code, wrong.status_code, bearer.status_code) == (401, 401, 401)
    assert "error" in wrong.json()
    assert httpx.get(url, headers={"x-api-key": DEMO_KEY}).status_code == 200


def test_lists_page_from_one_in_pages_of_25_without_totals(api: httpx.Client) -> None:
    first = api.get("/assets", params={"company_id": CONTOSO}).json()
    second = api.get("/assets", params={"company_id": CONTOSO, "page": 2}).json()
    third = api.get("/assets", params={"company_id": CONTOSO, "page": 3}).json()
    assert list(first) == ["assets"]
    assert (len(first["assets"]), len(second["assets"]), third["assets"]) == (25, 6, [])
    ids = [a["id"] for a in first["assets"] + second["assets"]]
    assert len(set(ids)) == 31
    assert api.get("/assets", params={"company_id": CONTOSO, "page": 0}).json() == first
    small = api.get("/assets", params={"company_id": CONTOSO, "page_size": 10, "page": 4}).json()
    assert len(small["assets"]) == 1


def test_asset_layouts_ignore_page_size(api: httpx.Client) -> None:
    layouts = api.get("/asset_layouts", params={"page_size": 1}).json()["asset_layouts"]
    assert len(layouts) == 3


def test_envelopes_follow_each_resource(api: httpx.Client) -> None:
    assert list(api.get("/companies").json()) == ["companies"]
    assert api.get(f"/companies/{FABRIKAM}").json()["company"]["name"] == "Fabrikam Inc"
    assert isinstance(api.get("/websites").json(), list)
    assert isinstance(api.get("/activity_logs").json(), list)
    assert api.get("/websites/503").json()["company_id"] == FABRIKAM
    assert api.get("/procedures/601").json()["procedure"]["company_id"] == CONTOSO
    assert api.get("/articles/401").json()["article"]["company_id"] == CONTOSO
    assert api.get(f"/companies/{CONTOSO}/assets/101").json()["asset"]["name"] == "CON-PC01"


def test_filters_narrow_lists(api: httpx.Client) -> None:
    fab = api.get("/asset_passwords", params={"company_id": FABRIKAM}).json()["asset_passwords"]
    assert {p["company_id"] for p in fab} == {FABRIKAM}
    found = api.get("/articles", params={"search": "spooler"}).json()["articles"]
    assert [a["id"] for a in found] == [403]
    named = api.get("/companies", params={"name": "contoso ltd"}).json()["companies"]
    assert [c["id"] for c in named] == [CONTOSO]


def test_asset_passwords_return_plaintext_secrets(api: httpx.Client) -> None:
    listed = api.get("/asset_passwords").json()["asset_passwords"]
    one = api.get("/asset_passwords/301").json()["asset_password"]
    assert {p["password"] for p in listed} <= set(SECRETS)
    assert one["password"] == SECRETS[0] and one["otp_secret"] == SECRETS[1]


def test_rate_limit_is_a_plain_429_without_retry_after_until_the_window_turns(base: str, clock: Clock) -> None:
    clock.now = 1_800_000_000.0 - (1_800_000_000.0 % 300)  # the start of a window
    url, headers = f"{base}/api/v1/companies", {"x-api-key": DEMO_KEY}
    codes = [httpx.get(url, headers=headers).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    throttled = httpx.get(url, headers=headers)
    assert throttled.text.strip() == "Retry later" and "retry-after" not in throttled.headers
    clock.now += 299
    assert httpx.get(url, headers=headers).status_code == 429
    clock.now += 1  # the next 5-minute boundary
    assert httpx.get(url, headers=headers).status_code == 200


def test_retry_after_when_configured(fake: HuduFake, base: str, clock: Clock) -> None:
    fake.retry_after = True
    clock.now = 1_800_000_000.0 - (1_800_000_000.0 % 300) + 100
    fake.reject_next(1)
    response = httpx.get(f"{base}/api/v1/companies", headers={"x-api-key": DEMO_KEY})
    assert response.status_code == 429 and response.headers["retry-after"] == "200"


def test_articles_are_created_updated_and_validated(api: httpx.Client) -> None:
    created = api.post("/articles", json={"article": {"name": "New", "content": "<p>x</p>", "company_id": FABRIKAM}})
    assert created.status_code == 200
    article = created.json()["article"]
    updated = api.put(f"/articles/{article['id']}", json={"article": {"content": "<p>y</p>"}}).json()["article"]
    assert (updated["content"], updated["company_id"]) == ("<p>y</p>", FABRIKAM)
    blank = api.post("/articles", json={"article": {"name": ""}})
    assert blank.status_code == 422 and blank.json() == {"errors": ["Name can't be blank"]}
    assert api.post("/articles", json={"name": "unwrapped"}).status_code == 400
    assert api.put("/articles/999999", json={"article": {"name": "x"}}).json() == {"error": "Record not found"}
    logged = api.get("/activity_logs", params={"resource_type": "Article", "resource_id": article["id"]}).json()
    assert [e["action_message"] for e in logged] == ["updated", "created"]


def test_assets_are_created_only_under_their_company(api: httpx.Client) -> None:
    body = {"asset": {"name": "FAB-NEW", "asset_layout_id": 1, "custom_fields": [{"ip_address": "10.2.0.99"}]}}
    assert api.post("/assets", json=body).status_code == 404
    created = api.post(f"/companies/{FABRIKAM}/assets", json=body).json()["asset"]
    assert created["company_id"] == FABRIKAM
    assert {f["label"]: f["value"] for f in created["fields"]}["IP Address"] == "10.2.0.99"
    assert api.get(f"/companies/{CONTOSO}/assets/{created['id']}").status_code == 404
    assert api.put(f"/companies/{FABRIKAM}/assets/{created['id']}/archive").json()["asset"]["archived"] is True
    assert created["id"] not in [a["id"] for a in api.get("/assets", params={"company_id": FABRIKAM}).json()["assets"]]


def test_unknown_routes_answer_like_rails(api: httpx.Client) -> None:
    response = api.get("/nonsense")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")


def test_requests_are_recorded(fake: HuduFake, api: httpx.Client) -> None:
    api.get("/companies", params={"page": 2})
    (hit,) = fake.hits("GET", "/api/v1/companies")
    assert (hit.query, hit.key, hit.status) == ({"page": "2"}, DEMO_KEY, 200)
