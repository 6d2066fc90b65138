"""A stdio upstream runs a command on the gateway's host and must not read what the gateway guards.

As root, the gateway runs it as ``nobody`` in a private working directory: it cannot read the
gateway's key (which opens every tenant's secrets) nor its database, and it sees its own HOME.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import text_of

from support.gateway import REPO, GatewayProcess, connect

SYSTEM_PYTHON = Path("/usr/bin/python3")
FIXTURE = REPO / "tests" / "fixtures" / "upstreams" / "minimal_stdio.py"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not SYSTEM_PYTHON.exists(), reason="needs root (to switch users) and /usr/bin/python3"
)


@pytest.fixture
def world_readable_fixture() -> Iterator[Path]:
    """The fixture where 'nobody' can read it (the checkout may sit under a private home)."""
    folder = Path(tempfile.mkdtemp(prefix="msplex-isolation-"))
    folder.chmod(0o755)
    script = folder / "minimal_stdio.py"
    shutil.copy(FIXTURE, script)
    script.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    yield script
    shutil.rmtree(folder, ignore_errors=True)


async def test_a_stdio_upstream_cannot_read_the_gateways_secrets(tmp_path: Path, world_readable_fixture: Path) -> None:
    gateway = GatewayProcess(tmp_path / "home", env={"MSPLEX_STDIO_USER": None})  # the default: nobody, as root
    out = gateway.cli_batch(
        [
            ["tenant", "create", "solo"],
            ["tool", "enable", "*", "--tenant", "solo"],
            ["upstream", "add", "box", "--tenant", "solo", "--command", f"{SYSTEM_PYTHON} {world_readable_fixture}"],
            ["token", "create", "--tenant", "solo"],
        ]
    )
    token = out[-1]["stdout"].strip().splitlines()[-1]
    secrets = [str(gateway.home / "secret.key"), str(gateway.home / "msplex.db")]
    (gateway.home / "secret.key").write_text(gateway.secret_key + "\n")
    gateway.start()
    try:
        async with connect(gateway.url("solo"), token) as client:
            report = json.loads(text_of(await client.call_tool("box__probe", {"paths": secrets})))
    finally:
        gateway.stop()
    assert report["uid"] == 65534, report  # nobody
    assert report["readable"] == dict.fromkeys(secrets, False)
    assert report["cwd"] == report["home"] and report["cwd"].startswith(tempfile.gettempdir())
    assert not os.path.exists(report["cwd"]), "the working directory is removed with the child"  # noqa: ASYNC240
