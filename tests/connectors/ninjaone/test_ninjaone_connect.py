"""``msplex connect ninjaone`` as an operator runs it (real processes) against the NinjaOne fake on 127.0.0.1:
the client, its scopes and the regional host are checked live before anything is saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.ninjaone import Application, NinjaOneFake
from support.sandbox import msplex_cli as msplex

SECRET = "ninja-connect-secret-1414"


@pytest.fixture
def ninja() -> Iterator[Running]:
    app = Application("ninja-client", SECRET, scopes=frozenset({"monitoring", "management"}))
    running = serve_in_thread(NinjaOneFake(applications=[app]).app)
    yield running
    running.stop()


def _connect(url: str, secret: str, *extra: str) -> tuple[str, ...]:
    return (
        "connect", "ninjaone", "-t", "north", "--base-url", url, "--client-id", "ninja-client",
        "--client-secret", secret, *extra,
    )  # fmt: skip


async def test_a_bad_secret_a_scope_the_app_lacks_and_good_credentials(msplex_home: Path, ninja: Running) -> None:
    await msplex(msplex_home, "tenant", "create", "north")
    code, out, err = await msplex(msplex_home, *_connect(ninja.url, "wrong-secret-999"))
    assert code == 2 and "NinjaOne rejected the client credentials" in err and "wrong-secret-999" not in out + err
    code, _, err = await msplex(msplex_home, *_connect(ninja.url, SECRET, "--scope", "monitoring management control"))
    assert code == 2 and "lacks a requested scope" in err and "--scope" in err
    code, _, err = await msplex(msplex_home, *_connect(f"{ninja.url}/eu", SECRET))
    assert code == 2 and "--base-url" in err
    _, out, _ = await msplex(msplex_home, "connector", "list", "--tenant", "north")
    assert "No connectors" in out
    code, out, err = await msplex(msplex_home, *_connect(ninja.url, SECRET, "--enable", "read-only"))
    assert code == 0, err
    assert "ninjaone__list_devices  (read-only, enabled)" in out and "ninjaone__reboot_device  (write)" in out
    assert SECRET not in out + err
    assert SECRET.encode() not in (msplex_home / "msplex.db").read_bytes()
