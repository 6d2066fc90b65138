"""``--no-prefix`` connects to the real upstreams and refuses a colliding name."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

EVERYTHING = Path(__file__).resolve().parents[1] / "fixtures" / "upstreams" / "everything.py"
Cli = Callable[..., Result]
STDIO = shlex.join([sys.executable, str(EVERYTHING), "--stdio"])


def test_unprefixed_upstream_is_accepted_beside_prefixed_copies(cli: Cli, everything_url: str) -> None:
    cli("tenant", "create", "acme")
    assert cli("upstream", "add", "first", "--tenant", "acme", "--url", everything_url).exit_code == 0
    result = cli("upstream", "add", "plain", "--tenant", "acme", "--url", everything_url, "--no-prefix")
    assert result.exit_code == 0, result.stderr
    assert "names unchanged" in result.stdout


def test_colliding_unprefixed_upstreams_are_refused_over_http_and_stdio(cli: Cli, everything_url: str) -> None:
    cli("tenant", "create", "acme")
    assert cli("upstream", "add", "plain", "--tenant", "acme", "--url", everything_url, "--no-prefix").exit_code == 0
    over_http = cli("upstream", "add", "again", "--tenant", "acme", "--url", everything_url, "--no-prefix")
    over_stdio = cli("upstream", "add", "local", "--tenant", "acme", "--command", STDIO, "--no-prefix")
    for result, name in ((over_http, "again"), (over_stdio, "local")):
        assert result.exit_code == 2
        assert "already exposed by upstream 'plain'" in result.stderr and "tool 'ask'" in result.stderr
        assert f"add '{name}' without --no-prefix" in result.stderr
        assert result.stderr.count("\n") == 1
    assert "again" not in cli("upstream", "list", "--tenant", "acme").stdout
    # with its prefix the same server is fine
    assert cli("upstream", "add", "local", "--tenant", "acme", "--command", STDIO).exit_code == 0


def test_an_unreachable_upstream_cannot_be_vouched_for(cli: Cli, everything_url: str) -> None:
    cli("tenant", "create", "acme")
    result = cli("upstream", "add", "dead", "--tenant", "acme", "--url", "http://127.0.0.1:9/mcp", "--no-prefix")
    assert result.exit_code == 2 and "cannot check 'dead' for name collisions" in result.stderr
    assert cli("upstream", "add", "dead", "--tenant", "acme", "--url", "http://127.0.0.1:9/mcp").exit_code == 0
    # an unreachable existing upstream blocks the check too
    result = cli("upstream", "add", "plain", "--tenant", "acme", "--url", everything_url, "--no-prefix")
    assert result.exit_code == 2 and "cannot check 'dead'" in result.stderr
