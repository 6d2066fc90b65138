"""A call bound to a customer reaches only its own Hudu company's records, whatever ids the model passes.

Contoso (company 1) is the bound customer; every Fabrikam (company 2) record is probed by id, by
filter and through writes. A refusal reads like a missing record, and no write reaches Hudu.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from test_hudu_tools import CUSTOMERS, KeyAuth, ok, refused

from msplex.connectors.framework import InstanceConfig, VendorInstance
from msplex.connectors.hudu import VENDOR
from msplex.sandbox.hudu import DEMO_KEY, HuduFake
from msplex.sandbox.hudu_seed import CONTOSO, FABRIKAM

ME = "contoso"
FOREIGN_NAMES = ("Fabrikam", "FAB-MAC", "fabrikam.example")


@pytest.fixture
async def hudu(served: tuple[HuduFake, str]) -> AsyncIterator[VendorInstance]:
    async with httpx.AsyncClient() as client:
        config = InstanceConfig(base_url=served[1])
        yield VendorInstance(VENDOR, config, KeyAuth(DEMO_KEY), client, tenant="acme", customers=CUSTOMERS)


def clean(result: Any) -> None:
    wire = orjson.dumps(result).decode()
    assert not [n for n in FOREIGN_NAMES if n in wire], wire[:500]


LISTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("companies_list", {}),
    ("assets_list", {}),
    ("assets_list", {"page": 2}),
    ("assets_find", {"name": "MAC"}),
    ("assets_find", {"ip": "10.2.0.1"}),
    ("articles_search", {}),
    ("articles_search", {"query": "printer"}),
    ("asset_passwords_list", {}),
    ("websites_list", {}),
    ("procedures_list", {}),
    ("company_context", {}),
    ("activity_logs_list", {"resource_type": "Company", "resource_id": CONTOSO}),
)


@pytest.mark.parametrize(("tool", "args"), LISTS)
async def test_lists_show_only_the_bound_company(hudu: VendorInstance, tool: str, args: dict[str, Any]) -> None:
    clean(await ok(hudu, tool, args, customer=ME))


async def test_the_bound_company_sees_its_own_records(hudu: VendorInstance) -> None:
    assets = await ok(hudu, "assets_list", {}, customer=ME)
    assert len(assets["items"]) == 25 and {a["company_id"] for a in assets["items"]} == {CONTOSO}
    context = await ok(hudu, "company_context", {}, customer=ME)
    assert context["company"]["id"] == CONTOSO and len(context["websites"]["items"]) == 2
    assert {a["id"] for a in context["articles"]["items"]} == {401, 402}  # not the global article 405
    assert (await ok(hudu, "asset_get", {"asset_id": 101}, customer=ME))["name"] == "CON-PC01"


FOREIGN_READS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("company_get", {"company_id": FABRIKAM}),
    ("company_context", {"company_id": FABRIKAM}),
    ("assets_list", {"company_id": FABRIKAM}),
    ("asset_get", {"asset_id": 201}),
    ("asset_get", {"asset_id": 201, "company_id": FABRIKAM}),
    ("asset_get", {"asset_id": 201, "company_id": CONTOSO}),
    ("assets_find", {"ip": "10.2.0.1", "company_id": FABRIKAM}),
    ("article_get", {"article_id": 403}),
    ("article_get", {"article_id": 405}),
    ("articles_search", {"company_id": FABRIKAM}),
    ("asset_passwords_list", {"company_id": FABRIKAM}),
    ("asset_password_get", {"password_id": 303}),
    ("asset_password_reveal", {"password_id": 303, "field": "both"}),
    ("websites_list", {"company_id": FABRIKAM}),
    ("procedures_list", {"company_id": FABRIKAM}),
    ("activity_logs_list", {}),
    ("activity_logs_list", {"resource_type": "Article", "resource_id": 403}),
    ("activity_logs_list", {"resource_type": "Company", "resource_id": FABRIKAM}),
    ("activity_logs_list", {"resource_type": "Asset", "resource_id": 201}),
)


@pytest.mark.parametrize(("tool", "args"), FOREIGN_READS)
async def test_a_foreign_id_is_refused_like_a_missing_one(
    hudu: VendorInstance, tool: str, args: dict[str, Any]
) -> None:
    result = await hudu.call(tool, args, customer=ME)
    assert result["isError"] is True
    clean(result)


async def test_writes_to_another_company_never_reach_hudu(hudu: VendorInstance, served: tuple[HuduFake, str]) -> None:
    fake = served[0]
    before = {a["id"]: dict(a) for a in fake.data["articles"]}
    assert "not found" in await refused(hudu, "article_update", {"article_id": 403, "name": "pwned"}, customer=ME)
    assert "not found" in await refused(hudu, "article_update", {"article_id": 405, "content": "x"}, customer=ME)
    moved = {"article_id": 401, "company_id": FABRIKAM}
    assert "not found" in await refused(hudu, "article_update", moved, customer=ME)
    create = {"name": "Planted", "company_id": FABRIKAM}
    assert "not found" in await refused(hudu, "article_create", create, customer=ME)
    assert fake.hits("PUT") == [] and fake.hits("POST") == []
    assert {a["id"]: a for a in fake.data["articles"]} == before


async def test_a_bound_create_lands_in_the_bound_company(hudu: VendorInstance) -> None:
    created = await ok(hudu, "article_create", {"name": "Contoso note"}, customer=ME)
    assert created["company_id"] == CONTOSO
    updated = await ok(hudu, "article_update", {"article_id": created["id"], "draft": True}, customer=ME)
    assert updated["draft"] is True


async def test_an_unmapped_customer_is_refused_before_any_request(
    hudu: VendorInstance, served: tuple[HuduFake, str]
) -> None:
    text = await refused(hudu, "companies_list", {}, customer="initech")
    assert "msplex customer map initech" in text and served[0].requests == []
