"""What a new user meets first: hints they can paste, readable help, --version, the printed token
prefix, a busy port, the debug log, and the status summary."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import Result

Cli = Callable[..., Result]


def test_status_counts_the_tenants_that_have_connectors(cli: Cli) -> None:
    for slug in ("acme", "beta", "idle"):
        cli("tenant", "create", slug)
    for name, tenant in (("files", "acme"), ("mail", "acme"), ("files", "beta")):
        cli("upstream", "add", name, "--tenant", tenant, "--url", "http://127.0.0.1:9/mcp")
    assert "Current build: 3 connectors across 2 tenants" in cli("status").stdout
