"""``msplex connect pax8`` as an operator runs it (real processes) against the Pax8 fake on 127.0.0.1: the
client credentials and the audience are checked live before anything is saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.pax8 import Application, Pax8Fake
from support.sandbox import msplex_cli as msplex

SECRET = "pax8-connect-secret-5772"


@pytest.fixture
def pax8() -> Iterator[Running]:
    running = serve_in_thread(Pax8Fake(applications=[Application("pax8-client", SECRET)]).app)
    yield running
    running.stop()


def _connect(url: str, secret: str, *extra: str) -> tuple[str, ...]:
    return (
        "connect", "pax8", "-t", "north", "--base-url", f"{url}/v1", "--client-id", "pax8-client",
        "--client-secret", secret, *extra,
    )  # fmt: skip


async def test_a_bad_secret_a_wrong_audience_and_good_credentials(msplex_home: Path, pax8: Running) -> None:
    await msplex(msplex_home, "tenant", "create", "north")
    code, out, err = await msplex(msplex_home, *_connect(pax8.url, "wrong-secret-999"))
    assert code == 2 and "Pax8 rejected the client credentials" in err and "wrong-secret-999" not in out + err
    code, _, err = await msplex(msplex_home, *_connect(pax8.url, SECRET, "--audience", "api://p8p.client"))
    assert code == 2 and "refused" in err and SECRET not in err
    _, out, _ = await msplex(msplex_home, "connector", "list", "--tenant", "north")
    assert "No connectors" in out
    code, out, err = await msplex(msplex_home, *_connect(pax8.url, SECRET, "--enable", "read-only"))
    assert code == 0, err
    assert "-> Gateway session ready" in out and "pax8__list_subscriptions  (read-only, enabled)" in out
    assert "pax8__create_order  (write)" in out
    assert SECRET not in out + err
    assert SECRET.encode() not in (msplex_home / "msplex.db").read_bytes()
