"""The sandbox of ``msplex serve --demo`` in-process: the five fakes seeded into a store, twice, and an operator's own
instance left alone. (The whole thing through a real gateway process: tests/e2e/test_sandbox_demo.py.)"""

from __future__ import annotations

import signal
import socket
import sys
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msplex.cli.app import app
from msplex.connectors.manage import connect
from msplex.sandbox import demo
from msplex.sandbox.demo import CUSTOMERS, KINDS, Sandbox, seed, start
from msplex.settings import Settings
from msplex.store import Store


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = start()
    yield running
    running.stop()


@pytest.fixture
async def store(msplex_home: Path) -> AsyncIterator[Store]:
    store = Store.from_settings(Settings())
    await store.migrate()
    await store.create_tenant("demo", "Demo")
    await store.tenant("demo").set_rule("tool", "*", enabled=True)  # as `msplex serve` makes the demo tenant
    yield store
    await store.close()


async def test_seeding_twice_creates_once_and_maps_both_customers_everywhere(store: Store, sandbox: Sandbox) -> None:
    first = await seed(store, "demo", sandbox)
    scope = store.tenant("demo")
    assert [name for name, _, _ in first.connected] == list(KINDS) and first.repointed == []
    assert first.customers_created == ["acme", "globex"] and first.unmapped == []
    assert {slug: sorted(ids) for slug, ids in first.mappings.items()} == {s: sorted(KINDS) for s, _ in CUSTOMERS}
    rules = await scope.list_rules()
    enabled = {r.pattern for r in rules if r.enabled}
    assert all(set(r.audiences) == {"admin", "member", "customer"} for r in rules if r.pattern in enabled - {"*"})
    assert {f"{k}__*" for k in KINDS} <= {r.pattern for r in rules if not r.enabled}  # writes off despite "*"
    records = {r.name: r for r in await scope.connectors.list()}
    assert all(r.secret_fields for r in records.values()) and set(records) == set(KINDS)

    second = await seed(store, "demo", sandbox)
    assert second.repointed == list(KINDS) and second.customers_created == [] and second.unmapped == []
    assert second.mappings == first.mappings
    assert await scope.list_rules() == rules  # not one rule re-set: an operator's later choices stand
    assert len(await scope.list_customers()) == 2


async def test_an_instance_the_operator_pointed_elsewhere_is_left_alone(store: Store, sandbox: Sandbox) -> None:
    hudu = next(f for f in sandbox.fakes if f.kind == "hudu")
    await connect(
        store, "demo", "hudu", name="hudu", base_url="https://acme.huducloud.example", token_url=None,
        settings={}, secrets=hudu.secrets, validate=False,
    )  # fmt: skip
    seeded = await seed(store, "demo", sandbox)
    assert seeded.kept == [("hudu", "https://acme.huducloud.example")]
    assert [name for name, _, _ in seeded.connected] == [k for k in KINDS if k != "hudu"]
    assert (await store.tenant("demo").connectors.get("hudu")).base_url == "https://acme.huducloud.example"


def test_plain_serve_starts_no_fakes_and_demo_stops_them_when_the_gateway_returns(
    msplex_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = types.ModuleType("msplex.server")  # `msplex serve` without serving: run() returns at once
    server.run = lambda settings, sock: sock.close()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "msplex.server", server)
    monkeypatch.setattr("msplex.httpserver.listen", lambda host, port: socket.socket())
    started: list[Sandbox] = []

    def spy() -> Sandbox:
        started.append(start())
        return started[-1]

    monkeypatch.setattr(demo, "start", spy)
    handler = signal.getsignal(signal.SIGTERM)
    plain = CliRunner().invoke(app, ["serve"])
    assert plain.exit_code == 0 and started == [] and "Sandbox" not in plain.output
    with_demo = CliRunner().invoke(app, ["serve", "--demo"])
    assert with_demo.exit_code == 0, with_demo.output
    assert "Sandbox: 5 vendor fakes" in with_demo.output and len(started) == 1
    for fake in started[0].fakes:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", fake.port)) != 0  # stopped with the gateway
    assert signal.getsignal(signal.SIGTERM) == handler
