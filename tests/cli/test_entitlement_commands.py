"""``msplex plan`` and ``msplex subscription``: plans, one subscription per tenant, and the store's rules for
them (grace counted from when a subscription became past due, a plan in use cannot go)."""

from __future__ import annotations

import re

import pytest

from support.cli import Cli


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
    return cli


def test_plans_are_created_listed_changed_and_removed(cli: Cli) -> None:
    assert "No plans" in _ok(cli, "plan", "list")
    out = _ok(cli, "plan", "create", "basic", "--connectors", "halopsa,hudu", "--calls-per-month", "5000")
    assert "Created plan 'basic': connectors halopsa, hudu; calls 5,000 (overage denied)" in out
    assert "subscription set --tenant TENANT --plan basic --status active" in out
    _ok(cli, "plan", "create", "pro", "--connectors", "*", "--overage", "allowed", "--calls-per-month", "10")
    listed = _ok(cli, "plan", "list")
    assert re.search(r"basic\s+halopsa, hudu\s+5,000 \(overage denied\)\s+0", listed)
    assert re.search(r"pro\s+\*\s+10 \(overage allowed\)", listed)
    assert "calls unlimited" in _ok(cli, "plan", "update", "pro", "--unlimited")
    assert "connectors ev" in _ok(cli, "plan", "update", "basic", "--connectors", "ev")
    assert "already exists" in _fails(cli, "plan", "create", "basic", "--connectors", "x")
    assert "must be '*' or a vendor kind" in _fails(cli, "plan", "create", "odd", "--connectors", "Halo PSA")
    assert "not one of allowed, denied" in _fails(cli, "plan", "create", "odd", "--connectors", "x", "--overage", "x")
    assert "plan list" in _fails(cli, "plan", "update", "nope", "--unlimited")
    _ok(cli, "plan", "remove", "pro")
    assert "pro" not in _ok(cli, "plan", "list")


def test_a_subscription_is_set_shown_and_its_plan_cannot_be_removed_while_used(acme: Cli) -> None:
    shown = _ok(acme, "subscription", "show", "--tenant", "acme")
    assert "has no subscription; it is not metered" in shown
    _ok(acme, "plan", "create", "basic", "--connectors", "ev")
    assert "give a plan and a status" in _fails(acme, "subscription", "set", "--tenant", "acme", "--plan", "basic")
    out = _ok(acme, "subscription", "set", "--tenant", "acme", "--plan", "basic", "--status", "active")
    assert "plan:        basic (connectors ev; calls unlimited)" in out and "status:      active" in out
    assert "the plan of tenant(s) acme" in _fails(acme, "plan", "remove", "basic")
    assert "not one of active, trialing" in _fails(acme, "subscription", "set", "--tenant", "acme", "--status", "x")
    assert "plan list" in _fails(acme, "subscription", "set", "--tenant", "acme", "--plan", "nope")
    assert "tenant create" in _fails(acme, "subscription", "show", "--tenant", "nope")
    _ok(acme, "subscription", "remove", "--tenant", "acme")
    _ok(acme, "plan", "remove", "basic")


def test_a_trial_needs_an_end_and_past_due_counts_its_grace_from_when_it_began(acme: Cli) -> None:
    _ok(acme, "plan", "create", "basic", "--connectors", "*")
    set_ = ("subscription", "set", "--tenant", "acme")
    assert "needs a trial end date" in _fails(acme, *set_, "--plan", "basic", "--status", "trialing")
    trial = _ok(acme, *set_, "--plan", "basic", "--status", "trialing", "--trial-ends", "2031-01-31")
    assert "trial ends:  2031-02-01 00:00 UTC" in trial
    assert "is not a date" in _fails(acme, *set_, "--trial-ends", "next week")
    first = _ok(acme, *set_, "--status", "past_due", "--grace", "3")
    since = re.search(r"past due:    since (.+?);", first)
    assert since is not None and "grace:       3 days when past due" in first
    again = _ok(acme, *set_, "--status", "past_due", "--grace", "5")
    assert f"since {since.group(1)};" in again  # still past due: the grace period does not restart
    assert "past due:" not in _ok(acme, *set_, "--status", "active")
    assert "must be 0 to 366 days" in _fails(acme, *set_, "--grace", "400")
    assert "give at least one of" in _fails(acme, "subscription", "set", "--tenant", "acme")
