"""The Hudu connector through a real gateway process and a real MCP client, against the Hudu fake.

Tenant ``hq`` connects Hudu with ``msplex connect hudu`` (the fake on 127.0.0.1, in this process),
enables its tools for admins, members and customers, and maps customer ``contoso`` to Hudu company 1
and ``fabrikam`` to company 2. A member sees the whole Hudu account; a ``contoso`` customer token
sees Contoso's records only, whatever ids it passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from msplex.sandbox.hudu import DEMO_KEY, HuduFake
from msplex.sandbox.hudu_seed import CONTOSO, FABRIKAM, SECRETS
from support.gateway import GatewayProcess, connect

TENANT = "hq"
MAP = ("customer", "map")
ON_HUDU = ("--tenant", TENANT, "--connector", "hudu", "--vendor-id")


@dataclass
class Setup:
    gw: GatewayProcess
    fake: HuduFake
    fake_url: str
    member: str
    contoso: str

    @property
    def url(self) -> str:
        return self.gw.url(TENANT)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    fake = HuduFake()
    running = fake.start()
    gw = GatewayProcess(tmp_path_factory.mktemp("hudu-gw") / "home")
    try:
        out = gw.cli_batch(
            [
                ["tenant", "create", TENANT],
                ["customer", "create", "contoso", "--tenant", TENANT],
                ["customer", "create", "fabrikam", "--tenant", TENANT],
                ["connect", "hudu", "--tenant", TENANT, "--base-url", running.url, "--api-key", DEMO_KEY],
                ["tool", "enable", "hudu__*", "--tenant", TENANT, "--audience", "admin,member,customer"],
                ["customer", "map", "contoso", "--tenant", TENANT, "--connector", "hudu", "--vendor-id", str(CONTOSO)],
                [
                    "customer",
                    "map",
                    "fabrikam",
                    "--tenant",
                    TENANT,
                    "--connector",
                    "hudu",
                    "--vendor-id",
                    str(FABRIKAM),
                ],
                ["token", "create", "--tenant", TENANT],
                ["token", "create", "--tenant", TENANT, "--role", "customer", "--customer", "contoso"],
            ]
        )
        connected = out[3]["stdout"]
        assert "-> Gateway session ready" in connected and DEMO_KEY not in connected
        member, contoso = (o["stdout"].strip().splitlines()[-1] for o in out[-2:])
        gw.start()
        yield Setup(gw, fake, running.url, member, contoso)
    finally:
        gw.stop()
        running.stop()


async def call(setup: Setup, token: str, tool: str, args: dict[str, Any]) -> tuple[bool, Any, str]:
    """``(is_error, structuredContent, text)`` of one call, through a legacy-era SDK client."""
    async with connect(setup.url, token) as client:
        result = await client.call_tool(f"hudu__{tool}", args)
    text = "".join(getattr(block, "text", "") for block in result.content)
    return bool(result.is_error), result.structured_content, text


async def test_tools_are_listed_with_schemas_and_honest_hints(setup: Setup) -> None:
    async with connect(setup.url, setup.member) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"hudu__companies_list", "hudu__article_create", "hudu__company_context"} <= set(tools)
    listing = tools["hudu__assets_list"]
    assert listing.output_schema is not None and listing.annotations is not None
    assert listing.annotations.read_only_hint is True and listing.annotations.open_world_hint is True
    create = tools["hudu__article_create"].annotations
    assert create is not None and create.read_only_hint is False and create.destructive_hint is False


async def test_a_member_lists_and_pages_past_the_first_page(setup: Setup) -> None:
    err, companies, _ = await call(setup, setup.member, "companies_list", {})
    assert not err and {c["name"] for c in companies["items"]} == {"Contoso Ltd", "Fabrikam Inc"}
    err, first, _ = await call(setup, setup.member, "assets_list", {"company_id": CONTOSO})
    assert not err and len(first["items"]) == 25 and first["next_page"] == 2
    err, second, _ = await call(setup, setup.member, "assets_list", {"company_id": CONTOSO, "page": 2})
    assert not err and len(second["items"]) == 6 and second["has_more"] is False


async def test_a_member_creates_an_article(setup: Setup) -> None:
    args = {"name": "Gateway note", "content": "<p>written through MSPlex</p>", "company_id": FABRIKAM}
    err, article, _ = await call(setup, setup.member, "article_create", args)
    assert not err and article["company_id"] == FABRIKAM and article["text"] == "written through MSPlex"
    assert any(a["id"] == article["id"] for a in setup.fake.data["articles"])


async def test_a_429_is_recovered_from(setup: Setup) -> None:
    before = len(setup.fake.hits(status=429))
    setup.fake.reject_next(1)
    err, companies, _ = await call(setup, setup.member, "companies_list", {})
    assert not err and len(companies["items"]) == 2
    assert len(setup.fake.hits(status=429)) == before + 1


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("asset_passwords_list", {}),
        ("asset_password_get", {"password_id": 301}),
        ("company_context", {"company_id": CONTOSO}),
    ],
)
async def test_secrets_never_reach_the_client_or_the_log(setup: Setup, tool: str, args: dict[str, Any]) -> None:
    err, structured, text = await call(setup, setup.member, tool, args)
    wire = json.dumps(structured) + text
    assert not err and not [s for s in SECRETS if s in wire]
    assert '"password_redacted": true' in json.dumps(structured)
    log = setup.gw.log_text()
    assert not [s for s in (*SECRETS, DEMO_KEY) if s in log]


async def test_the_reveal_tool_waits_for_an_approval_then_reveals_once(setup: Setup) -> None:
    args = {"password_id": 302}
    async with connect(setup.url, setup.member) as client:
        held = await client.call_tool("hudu__asset_password_reveal", args)
        assert held.is_error and SECRETS[2] not in str(held)
        assert held.meta is not None
        approval = held.meta["msplex/approval"]["id"]
        assert not setup.fake.hits("GET", "/api/v1/asset_passwords/302")  # nothing read before the approval
        await setup.gw.acli("approvals", "approve", "--tenant", TENANT, approval)
        revealed = await client.call_tool("hudu__asset_password_reveal", args, meta={"msplex/approval": approval})
    assert not revealed.is_error and revealed.structured_content is not None
    assert revealed.structured_content["password"] == SECRETS[2]
    assert SECRETS[2] not in setup.gw.log_text()


async def test_a_customer_reads_only_its_own_company(setup: Setup) -> None:
    err, companies, _ = await call(setup, setup.contoso, "companies_list", {})
    assert not err and [c["id"] for c in companies["items"]] == [CONTOSO]
    err, context, _ = await call(setup, setup.contoso, "company_context", {})
    assert not err and context["company"]["id"] == CONTOSO
    assert "Fabrikam" not in json.dumps(context)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("company_get", {"company_id": FABRIKAM}),
        ("asset_get", {"asset_id": 201}),
        ("article_get", {"article_id": 403}),
        ("asset_password_get", {"password_id": 303}),
        ("assets_list", {"company_id": FABRIKAM}),
    ],
)
async def test_a_customer_cannot_read_a_foreign_record(setup: Setup, tool: str, args: dict[str, Any]) -> None:
    err, _, text = await call(setup, setup.contoso, tool, args)
    assert err and "not found" in text and "Fabrikam" not in text


async def test_a_customer_cannot_write_a_foreign_record_even_once_approved(setup: Setup) -> None:
    puts, posts = len(setup.fake.hits("PUT")), len(setup.fake.hits("POST"))
    err, _, text = await call(setup, setup.contoso, "article_create", {"name": "x", "company_id": FABRIKAM})
    assert err and "not found" in text
    args = {"article_id": 403, "name": "pwned"}  # article_update replaces content: held for an approval first
    async with connect(setup.url, setup.contoso) as client:
        held = await client.call_tool("hudu__article_update", args)
        assert held.is_error and held.meta is not None
        approval = held.meta["msplex/approval"]["id"]
        await setup.gw.acli("approvals", "approve", "--tenant", TENANT, approval)
        refused = await client.call_tool("hudu__article_update", args, meta={"msplex/approval": approval})
    assert refused.is_error and "not found" in str(refused.content)
    assert (len(setup.fake.hits("PUT")), len(setup.fake.hits("POST"))) == (puts, posts)
    assert next(a for a in setup.fake.data["articles"] if a["id"] == 403)["name"] == "Fabrikam printer fix"


def test_bad_credentials_are_reported_at_connect(setup: Setup, tmp_path: Path) -> None:
    done = setup.gw.cli(
        "connect", "hudu", "--tenant", TENANT, "--instance", "wrongkey", "--base-url", setup.fake_url,
        "--api-key", "not-the-key-123456", check=False,
    )  # fmt: skip
    assert done.returncode != 0
    message = done.stderr + done.stdout
    assert "Traceback" not in message and "not-the-key-123456" not in message
    assert "rejected" in message.lower() or "api key" in message.lower()
