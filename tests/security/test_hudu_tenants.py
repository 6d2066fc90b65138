"""Cross-tenant probes of every Hudu tool: a tenant's token never reaches another tenant's Hudu.

Tenants ``north`` and ``south`` each connect their own Hudu (two fakes, two API keys; south's
companies are renamed so its data is recognisable). Rows come from the connector's tool list
(``VENDOR.tools``): a tool without a row fails ``test_the_table_covers_every_hudu_tool``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from msplex.connectors.hudu import VENDOR
from msplex.sandbox.hudu import HuduFake
from msplex.sandbox.hudu_seed import CONTOSO, SECRETS
from support.gateway import GatewayProcess, connect, jsonrpc_of, modern_request

FORBIDDEN = -32003
NORTH_KEY, SOUTH_KEY = "north-hudu-key-5e1d2c", "south-hudu-key-8a7b6c"
ARGS: dict[str, dict[str, Any]] = {
    "companies_list": {},
    "company_get": {"company_id": CONTOSO},
    "assets_list": {},
    "asset_get": {"asset_id": 101},
    "assets_find": {"ip": "10.1.0.1"},
    "asset_layouts_list": {},
    "articles_search": {},
    "article_get": {"article_id": 401},
    "article_create": {"name": "probe"},
    "article_update": {"article_id": 401, "draft": True},
    "procedures_list": {},
    "asset_passwords_list": {},
    "asset_password_get": {"password_id": 301},
    "asset_password_reveal": {"password_id": 301},
    "websites_list": {},
    "activity_logs_list": {},
    "company_context": {"company_id": CONTOSO},
}


@dataclass
class Pair:
    gw: GatewayProcess
    north_fake: HuduFake
    north: str
    south: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    north_fake, south_fake = HuduFake((NORTH_KEY,)), HuduFake((SOUTH_KEY,))
    for company in south_fake.data["companies"]:
        company["name"] = f"South {company['id']}"
    servers = north_fake.start(), south_fake.start()
    gw = GatewayProcess(tmp_path_factory.mktemp("hudu-tenants") / "home")
    try:
        commands: list[list[str]] = []
        for tenant, running, key in (("north", servers[0], NORTH_KEY), ("south", servers[1], SOUTH_KEY)):
            commands += [
                ["tenant", "create", tenant],
                ["connect", "hudu", "--tenant", tenant, "--base-url", running.url, "--api-key", key, "--enable", "all"],
                ["tool", "enable", "hudu__*", "--tenant", tenant],
                ["token", "create", "--tenant", tenant],
            ]
        out = gw.cli_batch(commands)
        north, south = out[3]["stdout"].strip().splitlines()[-1], out[7]["stdout"].strip().splitlines()[-1]
        gw.start()
        yield Pair(gw, north_fake, north, south)
    finally:
        gw.stop()
        for running in servers:
            running.stop()


def test_the_table_covers_every_hudu_tool() -> None:
    assert set(ARGS) == {t.name for t in VENDOR.tools}


@pytest.mark.parametrize("tool", sorted(ARGS))
async def test_another_tenants_token_cannot_call_a_hudu_tool(pair: Pair, tool: str) -> None:
    before = len(pair.north_fake.requests)
    name = f"hudu__{tool}"
    headers, body = modern_request("tools/call", {"name": name, "arguments": ARGS[tool]}, pair.south, name)
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(pair.gw.url("north"), json=body, headers=headers)
    assert response.status_code == 403 and jsonrpc_of(response)["error"]["code"] == FORBIDDEN
    assert len(pair.north_fake.requests) == before  # north's Hudu never heard of it
    assert not [s for s in (*SECRETS, NORTH_KEY, "Contoso") if s in response.text]


async def test_each_tenant_reaches_only_its_own_hudu(pair: Pair) -> None:
    before = len(pair.north_fake.requests)
    async with connect(pair.gw.url("south"), pair.south) as client:
        result = await client.call_tool("hudu__companies_list", {})
    assert result.structured_content is not None
    assert {c["name"] for c in result.structured_content["items"]} == {"South 1", "South 2"}
    assert len(pair.north_fake.requests) == before
    async with connect(pair.gw.url(None), pair.south) as client:  # the shared endpoint resolves south too
        shared = await client.call_tool("hudu__company_get", {"company_id": CONTOSO})
    assert shared.structured_content is not None and shared.structured_content["name"] == "South 1"
