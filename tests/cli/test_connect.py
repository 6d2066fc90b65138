"""``msplex connect``, ``connector``, ``customer map|discover`` and ``vault rotate-key`` as an operator runs them
(real processes), against a vendor fake on 127.0.0.1 (the framework's tiny ``widgets`` vendor, loaded
through ``MSPLEX_VENDOR_MODULES`` like any plugin)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "connectors" / "framework"))

from widgets_vendor import KEY, Fake  # noqa: E402

from support.local_http import serve  # noqa: E402


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Fake, str]]:
    f = Fake()
    async with serve(f.app()) as url:
        yield f, url


async def msplex(
    home: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    full = {
        **os.environ,
        "MSPLEX_HOME": str(home),
        "MSPLEX_VENDOR_MODULES": "widgets_vendor",
        "PYTHONPATH": os.pathsep.join(
            [str(TESTS / "connectors" / "framework"), str(TESTS), os.environ.get("PYTHONPATH", "")]
        ),
        **(env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "msplex", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=full,
    )  # fmt: skip
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_connect_lists_vendors_and_each_vendor_lists_its_flags(msplex_home: Path) -> None:
    code, out, err = await msplex(msplex_home, "connect")
    assert code == 0 and "widgets" in out and "--api-key" in out, err
    code, out, _ = await msplex(msplex_home, "connect", "widgets", "--help")
    assert code == 0 and "--api-key" in out and "--base-url" in out and "--enable" in out


async def test_connect_validates_live_then_reports_the_session_ready(msplex_home: Path, fake: tuple[Fake, str]) -> None:
    _, url = fake
    await msplex(msplex_home, "tenant", "create", "acme")
    code, out, err = await msplex(
        msplex_home, "connect", "widgets", "--tenant", "acme", "--base-url", url, "--api-key", "-", "--enable",
        "read-only", stdin=KEY + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert "-> Gateway session ready" in out and "widgets__list_widgets  (read-only, enabled)" in out
    assert "widgets__add_note  (write)" in out and KEY not in out + err
    code, out, _ = await msplex(msplex_home, "connector", "show", "widgets", "--tenant", "acme")
    assert "Secrets set: api_key" in out and KEY not in out
    code, out, _ = await msplex(msplex_home, "tool", "list", "--tenant", "acme")
    assert code == 0 and "widgets__get_widget" in out and "widgets__add_note" in out
    db = (msplex_home / "msplex.db").read_bytes()
    assert KEY.encode() not in db
    code, out, _ = await msplex(msplex_home, "status", "--tenant", "acme")
    assert "-> Control plane: stopped" in out and "-> Current build: 1 connector in tenant acme" in out
    assert "-> Endpoint: http://127.0.0.1:8000/mcp/v1/acme" in out


async def test_a_bad_secret_or_host_is_a_precise_error_and_nothing_is_saved(
    msplex_home: Path, fake: tuple[Fake, str]
) -> None:
    _, url = fake
    await msplex(msplex_home, "tenant", "create", "acme")
    code, _, err = await msplex(
        msplex_home, "connect", "widgets", "-t", "acme", "--base-url", url, env={"WIDGETS_API_KEY": "wk-wrong-000"}
    )
    assert code == 2 and "rejected the connector's credentials" in err and "check --api-key" in err
    assert "wk-wrong-000" not in err
    code, _, err = await msplex(
        msplex_home, "connect", "widgets", "-t", "acme", "--base-url", "http://no-such-host.invalid", "--api-key", KEY
    )
    assert code == 2 and "cannot reach Widgets at no-such-host.invalid" in err and "check --base-url" in err
    code, _, err = await msplex(msplex_home, "connect", "widgets", "-t", "acme", "--base-url", url, stdin="")
    assert code == 2 and "needs --api-key" in err
    _, out, _ = await msplex(msplex_home, "connector", "list", "--tenant", "acme")
    assert "No connectors" in out


async def test_customers_are_mapped_by_hand_or_discovered_by_name(msplex_home: Path, fake: tuple[Fake, str]) -> None:
    _, url = fake
    await msplex(msplex_home, "tenant", "create", "acme")
    for slug, name in (("contoso", "Contoso"), ("fabrikam", "Fabrikam Ltd"), ("woodgrove", "Woodgrove")):
        await msplex(msplex_home, "customer", "create", slug, "-t", "acme", "--name", name)
    await msplex(msplex_home, "connect", "widgets", "-t", "acme", "--base-url", url, "--api-key", KEY)
    code, out, err = await msplex(msplex_home, "customer", "discover", "-t", "acme", "--connector", "widgets")
    assert code == 0, err
    assert "contoso" in out and "-> 1" in out and "woodgrove" in out and "no matching record" in out
    _, out, _ = await msplex(msplex_home, "connector", "show", "widgets", "-t", "acme")
    assert "none mapped" in out  # a proposal only
    code, out, _ = await msplex(msplex_home, "customer", "discover", "-t", "acme", "--connector", "widgets", "--apply")
    assert code == 0 and "Mapped 2" in out
    code, _, err = await msplex(
        msplex_home, "customer", "map", "woodgrove", "-t", "acme", "--connector", "widgets", "--vendor-id", "2"
    )
    assert code == 2 and "already mapped to 'fabrikam'" in err
    code, out, _ = await msplex(
        msplex_home, "customer", "map", "woodgrove", "-t", "acme", "--connector", "widgets", "--vendor-id", "3"
    )
    assert code == 0
    _, out, _ = await msplex(msplex_home, "connector", "show", "widgets", "-t", "acme")
    assert "contoso -> 1, fabrikam -> 2, woodgrove -> 3" in out


async def test_rotate_key_reseals_and_the_connector_still_opens(msplex_home: Path, fake: tuple[Fake, str]) -> None:
    _, url = fake
    await msplex(msplex_home, "tenant", "create", "acme")
    await msplex(msplex_home, "connect", "widgets", "-t", "acme", "--base-url", url, "--api-key", KEY)
    code, out, _ = await msplex(msplex_home, "vault", "rotate-key")
    assert code == 0 and "Re-sealed 1 connector(s)" in out
    assert len((msplex_home / "vault.key").read_text().split()) == 2
    code, out, err = await msplex(msplex_home, "customer", "discover", "-t", "acme", "--connector", "widgets")
    assert code == 0, err  # opened the re-sealed credentials and called the vendor
