"""``msplex policy``, ``msplex quota`` and ``msplex tenant read-only`` against a fresh home: what they
print, what they refuse (one line, with the fix), and ``policy test`` naming the deciding rule."""

from __future__ import annotations

import re
from collections.abc import Callable

from click.testing import Result

Cli = Callable[..., Result]


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _refused(result: Result) -> str:
    assert result.exit_code == 2 and result.stderr.startswith("error: "), (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    return result.stderr


def _tenant(cli: Cli) -> None:
    _ok(cli("tenant", "create", "acme"))
    _ok(cli("customer", "create", "alpha", "--tenant", "acme"))


def test_policy_add_list_test_remove(cli: Cli) -> None:
    _tenant(cli)
    added = cli(
        "policy", "add", "no-destructive", "--tenant", "acme", "--effect", "deny", "--audience", "member",
        "--destructive", "--reason", "ask an admin",
    )  # fmt: skip
    assert "Added rule 'no-destructive' (deny, priority 100)" in _ok(added)
    _ok(
        cli(
            "policy", "add", "own-customer", "--tenant", "acme", "--effect", "deny", "--audience", "customer",
            "--when", "has(args.customer_id) && args.customer_id != customer.id", "--priority", "10",
        )
    )  # fmt: skip
    _ok(cli("policy", "add", "alpha-approve", "--tenant", "acme", "--effect", "approve", "--customer", "alpha"))
    listing = _ok(cli("policy", "list", "--tenant", "acme"))
    names = [line.split()[0] for line in listing.splitlines()[1:]]
    assert names == ["own-customer", "no-destructive", "alpha-approve"]  # the order they are tried in
    assert re.search(r"^alpha-approve\s+100\s+approve\s+\*\s+alpha\s", listing, re.M)

    wipe = ["--annotations", '{"destructiveHint": true}']
    tried = _ok(cli("policy", "test", "ev__wipe", "--tenant", "acme", "--audience", "member", *wipe))
    assert tried.splitlines()[:2] == ["deciding rule: no-destructive", "denied by rule 'no-destructive': ask an admin"]
    assert "not listed to this caller" in tried
    tried = _ok(cli("policy", "test", "ev__wipe", "--tenant", "acme", "--audience", "admin", *wipe))
    assert "deciding rule: (none)" in tried and "needs a person's approval" in tried  # stage 10's default
    args = ["--audience", "customer", "--customer", "alpha", "--annotations", "{}"]
    tried = _ok(cli("policy", "test", "ev__t", "--tenant", "acme", *args, "--args", '{"customer_id": "x"}'))
    assert tried.startswith("deciding rule: own-customer") and "listed to this caller" in tried
    tried = _ok(cli("policy", "test", "ev__t", "--tenant", "acme", "--audience", "member", "--customer", "alpha"))
    assert "allowed once a person approves by rule 'alpha-approve'" in tried and "not in the catalogue" in tried

    assert "Removed rule 'own-customer'" in _ok(cli("policy", "remove", "own-customer", "--tenant", "acme"))
    assert "own-customer" not in _ok(cli("policy", "list", "--tenant", "acme"))


def test_policy_add_refuses_what_cannot_run_in_one_line(cli: Cli) -> None:
    _tenant(cli)
    base = ["policy", "add", "r1", "--tenant", "acme"]
    assert "undeclared reference to 'nobody'" in _refused(cli(*base, "--effect", "deny", "--when", "nobody == 1"))
    assert "boolean" in _refused(cli(*base, "--effect", "deny", "--when", "args.n + 1"))
    assert "not one of allow, deny, approve" in _refused(cli(*base, "--effect", "maybe"))
    assert "customer 'zeta' does not exist" in _refused(cli(*base, "--effect", "deny", "--customer", "zeta"))
    assert "audience" in _refused(cli(*base, "--effect", "deny", "--audience", "root"))
    _ok(cli(*base, "--effect", "deny"))
    assert "already exists" in _refused(cli(*base, "--effect", "deny"))
    assert "JSON object" in _refused(cli("policy", "test", "x", "--tenant", "acme", "--args", "[1]"))
    assert "does not exist" in _refused(cli("policy", "remove", "r9", "--tenant", "acme"))


def test_quota_set_list_remove(cli: Cli) -> None:
    _tenant(cli)
    made = _ok(cli("quota", "set", "daily", "--tenant", "acme", "--limit", "1000", "--window", "day"))
    assert "Quota 'daily' of tenant 'acme': 1000 calls per day for the tenant (hard)." in made
    made = _ok(
        cli(
            "quota", "set", "alpha", "--tenant", "acme", "--scope", "customer", "--customer", "alpha",
            "--limit", "50", "--window", "month", "--overage",
        )
    )  # fmt: skip
    assert "50 calls per month for customer alpha (overage allowed)" in made
    _ok(cli("quota", "set", "wipes", "--tenant", "acme", "--scope", "tool", "--tool", "ev__wipe*", "--limit", "3",
            "--window", "minute"))  # fmt: skip
    _ok(cli("quota", "set", "daily", "--tenant", "acme", "--limit", "2000", "--window", "day"))  # replaces
    listing = _ok(cli("quota", "list", "--tenant", "acme"))
    assert re.search(r"^daily\s+tenant\s+2000\s+day\s+hard\s", listing, re.M)
    alpha = r"^alpha\s+customer\s+50\s+month\s+overage\s+50 calls per month for customer alpha$"
    assert re.search(alpha, listing, re.M)
    assert re.search(r"^wipes\s+tool\s+3\s+minute\s+hard\s+3 calls per minute for tools ev__wipe\*$", listing, re.M)
    assert "Removed quota 'wipes'" in _ok(cli("quota", "remove", "wipes", "--tenant", "acme"))
    assert "wipes" not in _ok(cli("quota", "list", "--tenant", "acme"))
    assert "goes with --scope customer" in _refused(
        cli("quota", "set", "qq", "--tenant", "acme", "--customer", "alpha", "--limit", "1", "--window", "day")
    )
    assert "not one of minute, day, month" in _refused(
        cli("quota", "set", "qq", "--tenant", "acme", "--limit", "1", "--window", "week")
    )
    negative = cli("quota", "set", "qq", "--tenant", "acme", "--limit", "-1", "--window", "day")
    assert "between 0 and" in _refused(negative)


def test_tenant_read_only_is_one_command_each_way(cli: Cli) -> None:
    _tenant(cli)
    assert "only tools annotated readOnlyHint can be called" in _ok(cli("tenant", "read-only", "acme", "on"))
    assert "is read-only" in _ok(cli("policy", "list", "--tenant", "acme"))
    tried = _ok(cli("policy", "test", "ev__slow", "--tenant", "acme", "--audience", "admin", "--annotations", "{}"))
    assert tried.startswith("deciding rule: tenant read-only")
    assert "no longer read-only" in _ok(cli("tenant", "read-only", "acme", "off"))
    assert "is read-only" not in _ok(cli("policy", "list", "--tenant", "acme"))
    assert "'on' or 'off'" in _refused(cli("tenant", "read-only", "acme", "maybe"))
    assert "does not exist" in _refused(cli("tenant", "read-only", "nope", "on"))
