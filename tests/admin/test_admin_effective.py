"""``/items`` and ``/effective-tools`` answer exactly what ``msplex tool list`` and ``msplex tool effective``
print for the same tenant, identity and endpoint: both call the same function.

A real upstream (``tests/fixtures/upstreams/everything.py``) and an unreachable one are registered
through the store (as the operator's CLI does); rules, tokens and entities through the API. The CLI
runs in this process, in a thread, on the same ``MSPLEX_HOME`` (SQLite), so both read one store.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from msplex.cli import app as cli_app
from support.admin import BASE, Admin
from support.gateway import ServerProcess

Row = tuple[str, ...]


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess.everything(tmp_path_factory.mktemp("everything"))
    server.start()
    yield server
    server.stop()


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _parse(text: str) -> tuple[list[Row], set[str], str | None]:
    """The CLI's table rows, the upstreams it could not list, and its one-line refusal if any."""
    lines = text.strip().splitlines()
    failures = {m.group(1) for line in lines if (m := re.match(r"\(upstream '([^']+)' could not be listed", line))}
    body = [line for line in lines if not line.startswith("(upstream '")]
    if body[0].startswith("KIND"):
        return [tuple(re.split(r"\s{2,}", line.strip())) for line in body[1:]], failures, None
    if body[0] in ("Nothing is visible.", "The catalogue is empty."):
        return [], failures, None
    return [], failures, body[0]


def _api_rows(items: list[dict[str, Any]]) -> list[Row]:
    return [
        (
            i["kind"],
            i["name"],
            i["source"],
            "on" if i["enabled"] else "off",
            ",".join(i["audiences"]) or "-",
            i["rule"] or "(default off)",
        )
        for i in items
    ]


async def _setup(admin: Admin, everything: ServerProcess) -> dict[str, dict[str, Any]]:
    await admin.tenant("acme")
    scope = admin.store.tenant("acme")
    await scope.create_customer("cu")
    await scope.add_upstream("ev", url=everything.url)
    await scope.add_upstream("dead", url="http://127.0.0.1:1/mcp")
    token = await admin.token("acme", "admin")
    for rule in (
        {"pattern": "ev__t0*", "enabled": True},
        {"pattern": "ev__echo", "enabled": True, "audiences": ["customer", "member"]},
        {"pattern": "ev__pid", "enabled": True, "audiences": ["public"], "confirm_public": True},
        {"pattern": "ev__t01", "enabled": False},
        {"kind": "resource", "pattern": "*", "enabled": True, "audiences": ["admin"]},
    ):
        assert (await admin.call("PUT", f"{BASE}/tenants/acme/rules", token, json=rule)).status_code == 200
    entities = f"{BASE}/tenants/acme/entities"
    for entity, tools in (
        ({"slug": "ent", "name": "Ent", "allow_anonymous": True}, ["ev__t0*", "ev__pid"]),
        ({"slug": "cent", "name": "CEnt", "customer": "cu"}, ["ev__e*"]),
    ):
        assert (await admin.call("POST", entities, token, json=entity)).status_code == 201
        patched = await admin.call("PATCH", f"{entities}/{entity['slug']}/tools", token, json={"add": tools})
        assert patched.status_code == 200
    tokens: dict[str, dict[str, Any]] = {"admin": {"token": token}}
    for name, body in (
        ("member", {}),
        ("customer", {"role": "customer", "customer": "cu", "tools": ["ev__e*"]}),
        ("narrow", {"tools": ["ev__t00", "ev__pid"]}),
    ):
        created = await admin.call("POST", f"{BASE}/tenants/acme/tokens", token, json=body)
        assert created.status_code == 201
        tokens[name] = created.json()
    return tokens


PERSPECTIVES: list[tuple[str, dict[str, str], list[str]]] = [
    # (token name or "", API query, CLI arguments); {id}/{prefix} filled in from the token
    ("member", {"token_id": "{id}"}, ["--token-id", "{id}"]),
    ("member", {"token_id": "{prefix}…"}, ["--token-id", "{prefix}…"]),
    ("narrow", {"token_id": "{id}"}, ["--token-id", "{id}"]),
    ("narrow", {"token_id": "{id}", "entity": "ent"}, ["--token-id", "{id}", "--entity", "ent"]),
    ("customer", {"token_id": "{id}"}, ["--token-id", "{id}"]),
    ("customer", {"token_id": "{id}", "entity": "cent"}, ["--token-id", "{id}", "--entity", "cent"]),
    ("member", {"token_id": "{id}", "entity": "cent"}, ["--token-id", "{id}", "--entity", "cent"]),
    ("", {"subject": "alice", "role": "admin"}, ["--subject", "alice", "--role", "admin"]),
    (
        "",
        {"subject": "bob", "role": "customer", "customer": "cu", "entity": "cent"},
        ["--subject", "bob", "--role", "customer", "--customer", "cu", "--entity", "cent"],
    ),
    (
        "",
        {"subject": "carol", "role": "member", "entity": "cent"},
        ["--subject", "carol", "--role", "member", "--entity", "cent"],
    ),
    ("", {"anonymous": "true"}, ["--anonymous"]),
    ("", {"anonymous": "true", "entity": "ent"}, ["--anonymous", "--entity", "ent"]),
]


async def test_effective_tools_is_what_the_cli_prints(sqlite_admin: Admin, everything: ServerProcess) -> None:
    admin = sqlite_admin
    tokens = await _setup(admin, everything)
    seen_rows = set()
    refusals = 0
    for name, query, args in PERSPECTIVES:
        fill = tokens.get(name, {})
        query = {k: v.format(**fill) if "{" in v else v for k, v in query.items()}
        args = [a.format(**fill) if "{" in a else a for a in args]
        response = await admin.call(
            "GET", f"{BASE}/tenants/acme/effective-tools", tokens["admin"]["token"], params=query
        )
        assert response.status_code == 200, (query, response.text)
        answer = response.json()
        rows, failures, refusal = _parse(await asyncio.to_thread(_cli, "tool", "effective", "-t", "acme", *args))
        assert _api_rows(answer["items"]) == rows, query
        assert {f["upstream"] for f in answer["failures"]} == failures, query
        assert answer["refusal"] == refusal, query
        seen_rows.add(tuple(rows))
        refusals += refusal is not None
        if refusal is None:
            assert failures == {"dead"}
    # the perspectives differ, so the comparison is not of one empty answer with another
    assert len(seen_rows) >= 6
    assert refusals == 2
    member = (
        await admin.call(
            "GET",
            f"{BASE}/tenants/acme/effective-tools",
            tokens["admin"]["token"],
            params={"token_id": tokens["member"]["id"]},
        )
    ).json()
    assert member["viewer"] == {"audience": "member", "tools": None, "selection": None}
    names = [i["name"] for i in member["items"]]
    assert "ev__echo" in names and "ev__t00" in names and "ev__t01" not in names and "ev__pid" not in names


async def test_items_is_what_tool_list_prints(sqlite_admin: Admin, everything: ServerProcess) -> None:
    admin = sqlite_admin
    tokens = await _setup(admin, everything)
    response = await admin.call("GET", f"{BASE}/tenants/acme/items", tokens["admin"]["token"])
    assert response.status_code == 200
    answer = response.json()
    rows, failures, _ = _parse(await asyncio.to_thread(_cli, "tool", "list", "-t", "acme"))
    assert _api_rows(answer["items"]) == rows
    assert len(rows) > 30
    assert {f["upstream"] for f in answer["failures"]} == failures == {"dead"}
    off = [r for r in rows if r[3] == "off"]
    assert ("tool", "ev__t01", "ev", "off", "-", "ev__t01") in off


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, None),
        ({"anonymous": "true", "subject": "s", "role": "admin"}, None),
        ({"subject": "s"}, "role"),
        ({"anonymous": "true", "role": "admin"}, "role"),
        ({"anonymous": "true", "customer": "cu"}, "customer"),
    ],
)
async def test_effective_tools_takes_exactly_one_identity(
    sqlite_admin: Admin, query: dict[str, str], field: str | None
) -> None:
    token = await sqlite_admin.tenant_admin("acme")
    response = await sqlite_admin.call("GET", f"{BASE}/tenants/acme/effective-tools", token, params=query)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().get("field") == field
