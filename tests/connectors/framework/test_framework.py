"""The connector framework through a tiny vendor over a real local HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from widgets_vendor import KEY, VENDOR, Fake

from msplex.connectors.framework import InstanceConfig, VendorInstance
from msplex.connectors.framework.http import Auth
from support.local_http import serve


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
async def fake() -> AsyncIterator[tuple[Fake, str]]:
    f = Fake()
    async with serve(f.app()) as url:
        yield f, url


def instance(url: str, auth: Auth, client: httpx.AsyncClient) -> VendorInstance:
    return VendorInstance(
        VENDOR, InstanceConfig(base_url=url), auth, client, tenant="acme", customers={"c1": "1", "c2": "2"}
    )


async def test_list_pages_never_truncate_silently(fake: tuple[Fake, str]) -> None:
    _, url = fake
    async with httpx.AsyncClient() as client:
        inst = instance(url, KeyAuth(KEY), client)
        first = await inst.call("list_widgets", {"page_size": 25})
        assert first["isError"] is False
        page = first["structuredContent"]
        assert len(page["items"]) == 25 and page["has_more"] is True and page["next_page"] == 2
        assert "page=2" in page["note"]
        second = (await inst.call("list_widgets", {"page_size": 25, "page": 2}))["structuredContent"]
        assert len(second["items"]) == 15 and second["has_more"] is False and second["next_page"] is None


async def test_secret_fields_redacted_structurally_and_scrubbed_from_text(fake: tuple[Fake, str]) -> None:
    _, url = fake
    async with httpx.AsyncClient() as client:
        result = await instance(url, KeyAuth(KEY), client).call("get_widget", {"id": 3})
    widget = result["structuredContent"]
    assert widget["password"] is None and widget["password_redacted"] is True
    assert "pw-secret-3" not in widget["notes"] and "pw-secret-3" not in result["content"][0]["text"]


async def test_429_with_retry_after_is_recovered(fake: tuple[Fake, str]) -> None:
    f, url = fake
    f.throttle = 1
    async with httpx.AsyncClient() as client:
        result = await instance(url, KeyAuth(KEY), client).call("get_widget", {"id": 1})
    assert result["isError"] is False and result["structuredContent"]["id"] == 1
    assert len(f.requests) == 2


async def test_429_beyond_the_wait_budget_says_when_to_retry(fake: tuple[Fake, str]) -> None:
    f, url = fake
    f.throttle = 100
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with httpx.AsyncClient() as client:
        inst = VendorInstance(VENDOR, InstanceConfig(base_url=url), KeyAuth(KEY), client, tenant="acme", sleep=sleep)
        result = await inst.call("get_widget", {"id": 1})
    assert result["isError"] is True
    assert result["structuredContent"]["kind"] == "rate_limited"
    assert "retry in" in result["content"][0]["text"]
    assert sum(slept) <= VENDOR.rate.max_wait  # type: ignore[union-attr]


async def test_bound_customer_cannot_read_or_write_a_foreign_record(fake: tuple[Fake, str]) -> None:
    _, url = fake
    async with httpx.AsyncClient() as client:
        inst = instance(url, KeyAuth(KEY), client)
        own = await inst.call("list_widgets", {"page_size": 100}, customer="c2")
        assert {w["company_id"] for w in own["structuredContent"]["items"]} == {2}
        foreign_filter = await inst.call("list_widgets", {"company_id": 1}, customer="c2")
        assert foreign_filter["isError"] is True
        foreign_read = await inst.call("get_widget", {"id": 1}, customer="c2")
        assert foreign_read["isError"] is True and "not found" in foreign_read["content"][0]["text"]
        foreign_write = await inst.call("add_note", {"id": 1, "text": "hi"}, customer="c2")
        assert foreign_write["isError"] is True
        unmapped = await inst.call("get_widget", {"id": 35}, customer="c3")
        assert unmapped["isError"] is True and "msplex customer map" in unmapped["content"][0]["text"]
        whole = await inst.call("get_widget", {"id": 1})
        assert whole["isError"] is False


async def test_vendor_errors_become_tool_errors_without_credentials(fake: tuple[Fake, str]) -> None:
    _, url = fake
    async with httpx.AsyncClient() as client:
        inst = instance(url, KeyAuth(KEY), client)
        missing = await inst.call("get_widget", {"id": 4040})
        assert missing["isError"] is True and "Widget not found" in missing["content"][0]["text"]
        invalid = await inst.call("add_note", {"id": 1, "text": ""})
        assert "text can't be blank" in invalid["content"][0]["text"]
        bad_args = await inst.call("get_widget", {"id": "x"})
        assert bad_args["isError"] is True and "invalid arguments" in bad_args["content"][0]["text"]
        wrong = instance(url, KeyAuth("wk-wrong-key-000"), client)
        rejected = await wrong.call("get_widget", {"id": 1})
        assert rejected["isError"] is True and "wk-wrong-key-000" not in str(rejected)
        assert wrong.readiness.ready is False and "msplex connect widgets" in (wrong.readiness.describe() or "")


async def test_unreachable_host_is_a_clear_tool_error() -> None:
    async with httpx.AsyncClient() as client:
        inst = instance("http://127.0.0.1:9", KeyAuth(KEY), client)
        result = await inst.call("get_widget", {"id": 1})
    assert result["isError"] is True and "cannot reach Widgets at 127.0.0.1" in result["content"][0]["text"]


def test_tool_definitions_declare_hints_and_effects() -> None:
    note = VENDOR.tool("add_note")
    assert note is not None
    definition = note.definition("widgets")
    assert definition["annotations"] == {
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": True,
    }
    effects = definition["_meta"]["msplex/effects"]
    assert effects == {"clientVisible": {"any": [{"arg": "public", "op": "equals", "value": True, "default": False}]}}
    assert note.effects.of({"public": True}) == {"clientVisible"}
    assert note.effects.of({}) == frozenset()


async def test_pacer_keeps_under_the_published_limit() -> None:
    from msplex.connectors.framework import Pacer, RateLimit

    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(RateLimit(requests=10, per_seconds=60, margin=0.5), clock=lambda: now[0])
    for _ in range(6):
        await pacer.admit(sleep)
    assert slept == [60.0]
    await asyncio.sleep(0)


async def test_replicas_sharing_the_state_pace_under_the_rolling_limit_together() -> None:
    from msplex.connectors.framework import RateLimit, SharedPacer
    from msplex.state.memory import MemoryState

    state = MemoryState()
    await state.start()
    now = [1000.0]
    starts: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    rate = RateLimit(requests=10, per_seconds=60, margin=1.0)
    replicas = [SharedPacer(state, "pace:t:1", rate, clock=lambda: now[0]) for _ in range(2)]
    for i in range(30):
        await replicas[i % 2].admit(sleep)
        starts.append(now[0])
        now[0] += 1.0
    await state.close()
    # no rolling 60 s window holds more than the published 10 starts, whichever replica made them
    assert max(sum(1 for t in starts if s <= t < s + 60) for s in starts) <= 10


def test_a_broken_vendor_plugin_is_skipped_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    from msplex.connectors.framework import registry

    monkeypatch.setenv("MSPLEX_VENDOR_MODULES", "no_such_vendor_module, widgets_vendor")
    kinds = [v.kind for v in registry.available()]
    assert "widgets" in kinds
    with pytest.raises(registry.UnknownVendor, match="unknown vendor 'nope'"):
        registry.vendor("nope")
