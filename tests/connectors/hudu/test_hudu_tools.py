"""The Hudu connector's tools against the Hudu fake (a real server on 127.0.0.1), below the chain.

``VendorInstance.call`` is the whole tool path under dispatch (argument validation, customer
scope, the handler, error translation, redaction), so these tests see what a client would get in
``structuredContent`` and ``content``; tests/connectors/hudu/test_hudu_gateway.py drives the same
tools through the gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.responses import JSONResponse

from msplex.connectors.framework import InstanceConfig, NotReady, VendorError, VendorInstance
from msplex.connectors.hudu import VENDOR
from msplex.sandbox._server import serve_in_thread
from msplex.sandbox.hudu import DEMO_KEY, HuduFake
from msplex.sandbox.hudu_seed import CONTOSO, FABRIKAM, SECRETS

CUSTOMERS = {"contoso": str(CONTOSO), "fabrikam": str(FABRIKAM)}


class KeyAuth:
    def __init__(self, key: str) -> None:
        self.key = key

    async def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}

    async def rejected(self, sent: Any) -> bool:
        return False

    def secrets(self) -> tuple[str, ...]:
        return (self.key,)


@pytest.fixture
def fake(served: tuple[HuduFake, str]) -> HuduFake:
    return served[0]


@pytest.fixture
async def hudu(served: tuple[HuduFake, str]) -> AsyncIterator[VendorInstance]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient() as client:
        instance = VendorInstance(
            VENDOR, InstanceConfig(base_url=served[1]), KeyAuth(DEMO_KEY), client, tenant="acme",
            customers=CUSTOMERS, sleep=sleep,
        )  # fmt: skip
        instance.sleeps = sleeps  # type: ignore[attr-defined]
        yield instance


async def ok(instance: VendorInstance, tool: str, args: dict[str, Any], customer: str | None = None) -> Any:
    result = await instance.call(tool, args, customer=customer)
    assert result["isError"] is False, result["content"][0]["text"]
    return result["structuredContent"]


async def refused(instance: VendorInstance, tool: str, args: dict[str, Any], customer: str | None = None) -> str:
    result = await instance.call(tool, args, customer=customer)
    assert result["isError"] is True, result
    text: str = result["content"][0]["text"]
    return text


def ids(page: dict[str, Any]) -> set[int]:
    return {item["id"] for item in page["items"]}


async def test_lists_page_past_the_first_page(hudu: VendorInstance) -> None:
    first = await ok(hudu, "assets_list", {"company_id": CONTOSO})
    assert len(first["items"]) == 25 and first["has_more"] is True and first["next_page"] == 2
    second = await ok(hudu, "assets_list", {"company_id": CONTOSO, "page": 2})
    assert len(second["items"]) == 6 and second["has_more"] is False and second["next_page"] is None
    assert ids(first).isdisjoint(ids(second))
    companies = await ok(hudu, "companies_list", {})
    assert ids(companies) == {CONTOSO, FABRIKAM}


async def test_assets_are_found_by_name_ip_or_mac(hudu: VendorInstance) -> None:
    by_ip = await ok(hudu, "assets_find", {"ip": "10.2.0.3"})
    by_mac = await ok(hudu, "assets_find", {"mac": "00-1a-2b-00-01-1e"})
    by_name = await ok(hudu, "assets_find", {"name": "FW01"})
    assert [a["name"] for a in by_ip["items"]] == ["FAB-MAC03"]
    assert [a["name"] for a in by_mac["items"]] == ["CON-PC30"]
    assert [a["name"] for a in by_name["items"]] == ["CON-FW01"]
    assert "exactly one" in await refused(hudu, "assets_find", {"ip": "10.2.0.3", "mac": "00:1a:2b:00:01:1e"})


async def test_a_find_that_stops_early_says_where_to_continue(hudu: VendorInstance, fake: HuduFake) -> None:
    first = await ok(hudu, "assets_find", {"ip": "10.9.9.9", "max_pages": 1, "page": 1})
    assert first["items"] == [] and first["has_more"] is False  # 36 assets: one page of 100 holds them all
    for n in range(80):  # grow the inventory past one scan page
        fake.data["assets"].append({**fake.data["assets"][0], "id": 5000 + n, "fields": []})
    stopped = await ok(hudu, "assets_find", {"ip": "10.9.9.9", "max_pages": 1})
    assert stopped["has_more"] is True and stopped["next_page"] == 2 and "page=2" in stopped["note"]


async def test_articles_are_created_searched_and_updated(hudu: VendorInstance, fake: HuduFake) -> None:
    created = await ok(
        hudu, "article_create", {"name": "Printer howto", "content": "<p>Use tray 2</p>", "company_id": FABRIKAM}
    )
    assert created["company_id"] == FABRIKAM and created["text"] == "Use tray 2"
    found = await ok(hudu, "articles_search", {"query": "tray 2"})
    assert ids(found) == {created["id"]} and found["items"][0]["snippet"] == "Use tray 2"
    updated = await ok(hudu, "article_update", {"article_id": created["id"], "content": "<p>Use tray 3</p>"})
    assert updated["text"] == "Use tray 3"
    assert (await ok(hudu, "article_get", {"article_id": created["id"]}))["content"] == "<p>Use tray 3</p>"
    invalid = await refused(hudu, "article_create", {"name": " "})
    assert "Name can't be blank" in invalid


async def test_a_429_without_retry_after_is_retried_after_a_backoff(hudu: VendorInstance, fake: HuduFake) -> None:
    fake.reject_next(2)
    page = await ok(hudu, "companies_list", {})
    assert ids(page) == {CONTOSO, FABRIKAM}
    assert len(fake.hits(status=429)) == 2
    assert hudu.sleeps == [2.0, 4.0]  # type: ignore[attr-defined]


async def test_a_429_that_lasts_is_reported_with_when_to_retry(hudu: VendorInstance, fake: HuduFake) -> None:
    fake.reject_next(50)
    result = await hudu.call("companies_list", {})
    assert result["isError"] is True and result["structuredContent"]["kind"] == "rate_limited"
    assert "retry in" in result["content"][0]["text"]


async def test_a_bad_key_is_reported_as_not_ready(served: tuple[HuduFake, str]) -> None:
    async with httpx.AsyncClient() as client:
        instance = VendorInstance(VENDOR, InstanceConfig(base_url=served[1]), KeyAuth("wrong"), client, tenant="acme")
        with pytest.raises(NotReady) as caught:
            await instance.validate()
    assert "rejected" in caught.value.message and "wrong" not in caught.value.message
    assert instance.readiness.ready is False


async def test_a_base_url_that_is_not_hudu_is_reported() -> None:
    async def not_hudu(scope: Any, receive: Any, send: Any) -> None:
        await JSONResponse({"status": "ok"})(scope, receive, send)

    running = serve_in_thread(not_hudu)
    try:
        async with httpx.AsyncClient() as client:
            instance = VendorInstance(
                VENDOR, InstanceConfig(base_url=running.url), KeyAuth(DEMO_KEY), client, tenant="a"
            )
            with pytest.raises(VendorError) as caught:
                await instance.validate()
    finally:
        running.stop()
    assert caught.value.message.endswith("does not answer like Hudu's API; check --base-url")


async def test_the_api_root_may_be_given_as_the_base_url(served: tuple[HuduFake, str]) -> None:
    async with httpx.AsyncClient() as client:
        config = InstanceConfig(base_url=f"{served[1]}/api/v1/")
        instance = VendorInstance(VENDOR, config, KeyAuth(DEMO_KEY), client, tenant="acme")
        await instance.validate()
        assert ids(await ok(instance, "companies_list", {})) == {CONTOSO, FABRIKAM}


READS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("asset_get", {"asset_id": 131}),
    ("assets_list", {"company_id": CONTOSO, "page": 2}),
    ("assets_find", {"name": "FW01"}),
    ("assets_find", {"ip": "10.1.0.254"}),
    ("article_get", {"article_id": 402}),
    ("articles_search", {}),
    ("asset_passwords_list", {}),
    ("asset_passwords_list", {"company_id": FABRIKAM}),
    ("asset_password_get", {"password_id": 301}),
    ("asset_password_get", {"password_id": 303}),
    ("company_context", {"company_id": CONTOSO}),
    ("company_context", {"company_id": FABRIKAM}),
    ("activity_logs_list", {}),
)


@pytest.mark.parametrize(("tool", "args"), READS)
async def test_secrets_never_leave_in_clear(hudu: VendorInstance, tool: str, args: dict[str, Any]) -> None:
    result = await hudu.call(tool, args)
    assert result["isError"] is False
    wire = orjson.dumps(result).decode()
    assert not [s for s in SECRETS if s in wire]


async def test_a_password_pasted_into_an_article_is_scrubbed_from_its_text(hudu: VendorInstance) -> None:
    article = await ok(hudu, "article_get", {"article_id": 402})
    found = await ok(hudu, "articles_search", {"query": "nightly"})
    assert "fwadmin / [redacted]" in article["text"] and "[redacted]" in found["items"][0]["snippet"]
    assert SECRETS[2] not in orjson.dumps([article, found]).decode()


async def test_links_and_flags_named_after_passwords_are_kept(hudu: VendorInstance) -> None:
    company = await ok(hudu, "company_get", {"company_id": CONTOSO})
    layouts = await ok(hudu, "asset_layouts_list", {})
    assert company["credentials_url"] == "/c/contoso-1/passwords" and "passwords_url" not in company
    assert {layout["includes_credentials"] for layout in layouts["items"]} == {True}


async def test_a_password_kept_in_an_asset_field_is_redacted(hudu: VendorInstance) -> None:
    firewall = await ok(hudu, "asset_get", {"asset_id": 131})
    (field,) = [f for f in firewall["fields"] if f["label"] == "Local Admin Password"]
    assert field["secret_value"] is None and field["secret_value_redacted"] is True and "value" not in field
    assert {f["label"]: f.get("value") for f in firewall["fields"]}["IP Address"] == "10.1.0.254"
    guessed = await ok(hudu, "assets_find", {"ip": SECRETS[6]})  # a field value search is no password oracle
    assert guessed["items"] == []


async def test_password_fields_are_null_and_flagged(hudu: VendorInstance) -> None:
    entry = await ok(hudu, "asset_password_get", {"password_id": 301})
    assert entry["password"] is None and entry["password_redacted"] is True
    assert entry["otp_secret"] is None and entry["otp_secret_redacted"] is True
    assert entry["name"] == "Domain Admin" and entry["username"] == "CONTOSO\\admin"
    assert "folder_name" in entry and not [
        k for k in entry if k.endswith("_redacted") and "secret" not in k and k != "password_redacted"
    ]


async def test_only_the_reveal_tool_returns_a_secret(hudu: VendorInstance) -> None:
    both = await ok(hudu, "asset_password_reveal", {"password_id": 301, "field": "both"})
    assert (both["password"], both["otp_secret"]) == (SECRETS[0], SECRETS[1])
    (reveal,) = [d for d in hudu.definitions() if d["name"] == "asset_password_reveal"]
    assert reveal["annotations"]["destructiveHint"] is True and reveal["_meta"]["msplex/sensitive"] is True


def test_every_tool_is_described_and_annotated_honestly() -> None:
    writes = {"article_create", "article_update", "asset_password_reveal"}
    for tool in VENDOR.tools:
        definition = tool.definition("hudu")
        assert len(definition["description"]) > 40 and definition["outputSchema"]["type"] == "object"
        hints = definition["annotations"]
        assert hints["readOnlyHint"] is (tool.name not in writes)
        assert hints["openWorldHint"] is True
    sharing = VENDOR.tool("article_create")
    assert sharing is not None and sharing.effects.of({"enable_sharing": True}) == {"clientVisible"}
    assert sharing.effects.of({}) == frozenset()
