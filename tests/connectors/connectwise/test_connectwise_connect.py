"""``msplex connect connectwise`` as an operator runs it (real processes) against the Manage fake on 127.0.0.1:
keys, client id and codebase are checked live before anything is saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msplex.sandbox._server import Running, serve_in_thread
from msplex.sandbox.connectwise import DEFAULT_CLIENT_ID, ApiMember, ConnectWiseFake
from support.sandbox import msplex_cli as msplex

PRIVATE = "cw-connect-private-5772"


@pytest.fixture
def manage() -> Iterator[Running]:
    running = serve_in_thread(ConnectWiseFake(members=[ApiMember("msplex", "pubkey", PRIVATE)]).app)
    yield running
    running.stop()


def _connect(url: str, private: str, *extra: str) -> tuple[str, ...]:
    return (
        "connect", "connectwise", "-t", "north", "--base-url", url, "--company-id", "msplex", "--public-key", "pubkey",
        "--private-key", private, "--client-id", DEFAULT_CLIENT_ID, *extra,
    )  # fmt: skip


async def test_bad_keys_a_wrong_codebase_and_good_keys(msplex_home: Path, manage: Running) -> None:
    await msplex(msplex_home, "tenant", "create", "north")
    code, out, err = await msplex(msplex_home, *_connect(manage.url, "wrong-private-999"))
    assert code == 2 and "rejected the connector's credentials" in err and "wrong-private-999" not in out + err
    code, _, err = await msplex(msplex_home, *_connect(manage.url, PRIVATE, "--codebase", "v2025_1"))
    assert code == 2 and "--codebase" in err
    _, out, _ = await msplex(msplex_home, "connector", "list", "--tenant", "north")
    assert "No connectors" in out
    code, out, err = await msplex(msplex_home, *_connect(manage.url, PRIVATE, "--enable", "read-only"))
    assert code == 0, err
    assert "-> Gateway session ready" in out and "connectwise__search_tickets  (read-only, enabled)" in out
    assert PRIVATE not in out + err
    assert PRIVATE.encode() not in (msplex_home / "msplex.db").read_bytes()
