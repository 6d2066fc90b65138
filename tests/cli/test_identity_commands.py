"""Customers, scoped tokens, the per-item ACL, entities, identity providers and client configurations
from the command line: the same store services the admin API and the gateway use."""

from __future__ import annotations

import json
import re

import pytest

from support.cli import Cli
from support.idp import Idp


def _ok(cli: Cli, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.stderr or result.stdout
    return result.stdout


def _fails(cli: Cli, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture
def acme(cli: Cli) -> Cli:
    _ok(cli, "tenant", "create", "acme")
    _ok(cli, "customer", "create", "alpha", "--tenant", "acme", "--name", "Alpha Ltd")
    return cli


def test_customers_belong_to_one_tenant(acme: Cli) -> None:
    _ok(acme, "tenant", "create", "beta")
    assert "alpha" in _ok(acme, "customer", "list", "--tenant", "acme")
    assert "No customers" in _ok(acme, "customer", "list", "--tenant", "beta")
    assert "already exists" in _fails(acme, "customer", "create", "alpha", "--tenant", "acme")
    _ok(acme, "customer", "create", "alpha", "--tenant", "beta")  # a slug means nothing outside its tenant
    assert "does not exist" in _fails(acme, "customer", "remove", "gamma", "--tenant", "acme")
    _ok(acme, "customer", "remove", "alpha", "--tenant", "beta")
    assert "alpha" in _ok(acme, "customer", "list", "--tenant", "acme")


def test_tokens_carry_a_role_a_customer_patterns_and_an_expiry(acme: Cli) -> None:
    customer = _ok(acme, "token", "create", "--tenant", "acme", "--role", "customer", "--customer", "alpha")
    assert customer.strip().splitlines()[-1].startswith("mspx_")
    _ok(
        acme,
        "token",
        "create",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--tools",
        "ev__*",
        "--tools",
        "docs__read",
        "--expires",
        "30d",
    )
    listed = _ok(acme, "token", "list", "--tenant", "acme")
    assert "customer" in listed and "alpha" in listed and "ev__*, docs__read" in listed
    assert customer.strip().splitlines()[-1] not in listed  # never the token itself
    assert "needs --customer" in _fails(acme, "token", "create", "--tenant", "acme", "--role", "customer")
    assert "only a customer token" in _fails(acme, "token", "create", "--tenant", "acme", "--customer", "alpha")
    assert "not a duration" in _fails(acme, "token", "create", "--tenant", "acme", "--expires", "soon")
    assert "is not one of" in _fails(acme, "token", "create", "--tenant", "acme", "--role", "owner")


def test_operator_tokens_have_no_tenant(acme: Cli) -> None:
    created = _ok(acme, "token", "create", "--operator", "--name", "ops")
    assert "operator token" in created
    assert "operator" in _ok(acme, "token", "list", "--operator")
    assert "--tenant SLUG or --operator" in _fails(acme, "token", "create")
    assert "takes only --name" in _fails(acme, "token", "create", "--operator", "--role", "admin")
    token_id = created.split("(id ")[1].split(")")[0]
    assert "Revoked operator token" in _ok(acme, "token", "revoke", token_id, "--operator")
    assert "does not exist" in _fails(acme, "token", "revoke", token_id, "--tenant", "acme")  # not a tenant's


def test_rules_enable_and_disable_items_per_audience(acme: Cli, everything_url: str) -> None:
    _ok(acme, "upstream", "add", "ev", "--tenant", "acme", "--url", everything_url)
    before = _ok(acme, "tool", "list", "--tenant", "acme")
    assert "ev__echo" in before and "(default off)" in before and " on " not in before
    _ok(acme, "tool", "enable", "ev__*", "--tenant", "acme")
    _ok(acme, "tool", "enable", "ev__echo", "--tenant", "acme", "--audience", "customer,member")
    _ok(acme, "tool", "disable", "ev__crash", "--tenant", "acme")
    listed = _ok(acme, "tool", "list", "--tenant", "acme")
    rows = {line.split()[1]: line for line in listed.splitlines()[1:] if line.startswith("tool ")}
    assert " on " in rows["ev__slow"] and "member,admin" in rows["ev__slow"]
    assert "customer,member" in rows["ev__echo"] and " off " in rows["ev__crash"]
    public = _fails(acme, "tool", "enable", "ev__echo", "--tenant", "acme", "--audience", "public")
    assert "unauthenticated" in public and "--yes" in public
    assert "--kind must be" in _fails(acme, "tool", "enable", "x", "--tenant", "acme", "--kind", "widget")


def test_effective_items_per_identity_and_endpoint(acme: Cli, everything_url: str) -> None:
    _ok(acme, "upstream", "add", "ev", "--tenant", "acme", "--url", everything_url)
    _ok(acme, "tool", "enable", "ev__echo", "ev__pid", "--tenant", "acme", "--audience", "admin,member")
    _ok(acme, "tool", "enable", "ev__echo", "--tenant", "acme", "--audience", "customer,member,admin")
    _ok(acme, "entity", "create", "desk", "--tenant", "acme", "--name", "Desk", "--customer", "alpha")
    _ok(acme, "entity", "tools", "desk", "--tenant", "acme", "--add", "ev__echo")
    token = _ok(acme, "token", "create", "--tenant", "acme", "--tools", "ev__pid").split("(id ")[1].split(")")[0]

    def visible(*how: str) -> list[str]:
        out = _ok(acme, "tool", "effective", "--tenant", "acme", *how)
        return sorted(line.split()[1] for line in out.splitlines()[1:] if line.startswith("tool "))

    assert visible("--subject", "s", "--role", "member") == ["ev__echo", "ev__pid"]
    assert visible("--subject", "s", "--role", "customer", "--customer", "alpha") == ["ev__echo"]
    assert visible("--token-id", token) == ["ev__pid"]
    assert visible("--anonymous") == []
    assert visible("--subject", "s", "--role", "customer", "--customer", "alpha", "--entity", "desk") == ["ev__echo"]
    refused = _ok(
        acme, "tool", "effective", "--tenant", "acme", "--subject", "s", "--role", "member", "--entity", "desk"
    )
    assert "admits only its customer" in refused


def test_entities_are_branded_endpoints(acme: Cli) -> None:
    created = _ok(
        acme, "entity", "create", "help", "--tenant", "acme", "--name", "Acme Help", "--title", "Help Desk",
        "--icon-url", "https://acme.example/i.png", "--support-url", "https://acme.example/s", "--allow-anonymous",
    )  # fmt: skip
    assert "/mcp/entities/help" in created
    _ok(acme, "entity", "tools", "help", "--tenant", "acme", "--add", "ev__*", "--add", "docs__*")
    _ok(acme, "entity", "tools", "help", "--tenant", "acme", "--remove", "docs__*")
    shown = _ok(acme, "entity", "show", "help", "--tenant", "acme")
    assert "Help Desk" in shown and "ev__*" in shown and "docs__*" not in shown and "allowed" in shown
    _ok(acme, "tenant", "create", "beta")
    assert "already exists" in _fails(acme, "entity", "create", "help", "--tenant", "beta", "--name", "X")  # global
    assert "does not exist" in _fails(acme, "entity", "show", "help", "--tenant", "beta")
    _ok(acme, "entity", "remove", "help", "--tenant", "acme")
    assert "No entities" in _ok(acme, "entity", "list", "--tenant", "acme")


def test_oidc_check_says_exactly_what_is_wrong(acme: Cli) -> None:
    with Idp() as idp:
        _ok(
            acme,
            "oidc",
            "set",
            "--tenant",
            "acme",
            "--issuer",
            idp.issuer,
            "--audience",
            "msplex",
            "--role-map",
            "ops=admin",
        )
        assert "ops=admin" in _ok(acme, "oidc", "show", "--tenant", "acme")
        good = _ok(acme, "oidc", "check", "--tenant", "acme", "--token", idp.mint({"groups": ["ops"]}))
        assert "FAIL" not in good
        wrong = acme("oidc", "check", "--tenant", "acme", "--token", idp.wrong_audience({}))
        assert wrong.exit_code == 2 and "FAIL audience" in wrong.stdout
        idp.jwks_status = 503
        down = acme("oidc", "check", "--tenant", "acme")
        assert down.exit_code == 2 and "FAIL jwks" in down.stdout
    _ok(acme, "oidc", "remove", "--tenant", "acme")
    assert "no identity provider" in _ok(acme, "oidc", "show", "--tenant", "acme")


@pytest.mark.parametrize("client", ["claude-desktop", "claude-code", "vscode", "cursor"])
def test_client_config_is_ready_to_paste(acme: Cli, client: str) -> None:
    out = _ok(acme, "client-config", "--tenant", "acme", "--client", client, "--new-token", "laptop")
    token = re.findall(r"mspx_[A-Za-z0-9_-]+", out)[0]
    assert "http://127.0.0.1:8000/mcp/v1/acme" in out
    if client == "claude-desktop":
        server = json.loads(out[out.index("{") :])["mcpServers"]["msplex-acme"]
        assert server["args"][:4] == ["-y", "mcp-remote", "http://127.0.0.1:8000/mcp/v1/acme", "--transport"]
        assert "Authorization:${AUTH_HEADER}" in server["args"] and server["env"]["AUTH_HEADER"] == f"Bearer {token}"
    elif client == "claude-code":
        command = "claude mcp add --transport http msplex-acme http://127.0.0.1:8000/mcp/v1/acme --header"
        assert f"{command} 'Authorization: Bearer {token}'" in out
    elif client == "vscode":
        document = json.loads(out[out.index("{") : out.rindex("}") + 1])
        assert document["servers"]["msplex-acme"]["type"] == "http"
        assert document["inputs"][0]["password"] is True and token not in json.dumps(document)
    else:
        document = json.loads(out[out.index("{") : out.rindex("}") + 1])
        assert document["mcpServers"]["msplex-acme"]["headers"]["Authorization"] == "Bearer ${env:MSPLEX_TOKEN}"
    assert "laptop" in _ok(acme, "token", "list", "--tenant", "acme")
