"""One gateway process and its upstream processes for the whole e2e session (start-up is the cost).

Tenant ``acme`` is fixed and never changed by a test: upstreams ``ev`` (the dual-era
fixture, so the gateway talks 2026-07-28 to it), ``old`` (the same fixture,
legacy-only), ``rich`` (``rich_upstream.py``) and ``sio`` (the fixture over stdio).
Tests that change registrations make their own tenant.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import Deployment, rich_upstream

from support.gateway import EVERYTHING, GatewayProcess, ServerProcess, start_all, stop_all


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def deployment(e2e_dir: Path) -> Iterator[Deployment]:
    ev = ServerProcess.everything(e2e_dir)
    old = ServerProcess.everything(e2e_dir, "--legacy-only")
    rich = rich_upstream(e2e_dir)
    gw = GatewayProcess(e2e_dir / "home")
    upstreams = (ev, old, rich)
    try:
        for server in upstreams:
            server.launch()  # they import while the CLI sets the store up
        out = gw.cli_batch(
            [
                ["tenant", "create", "acme"],
                ["tool", "enable", "*", "--tenant", "acme", "--kind", "all"],
                ["upstream", "add", "ev", "--tenant", "acme", "--url", ev.url],
                ["upstream", "add", "old", "--tenant", "acme", "--url", old.url],
                ["upstream", "add", "rich", "--tenant", "acme", "--url", rich.url],
                ["upstream", "add", "sio", "--tenant", "acme", "--command", f"{sys.executable} {EVERYTHING} --stdio"],
                ["token", "create", "--tenant", "acme"],
            ]
        )
        token = out[-1]["stdout"].strip().splitlines()[-1]
        start_all(*upstreams, gw)
        yield Deployment(gw, token, ev, old, rich)
    finally:
        stop_all(gw, *upstreams)
