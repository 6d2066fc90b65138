"""Vendor connector instances in the store: sealed secrets, customers' vendor ids, the token cache, rotation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from msplex.store import Store
from msplex.store.connectors import reseal_all
from msplex.store.errors import AlreadyExists, InvalidInput, NotFound
from msplex.vault.keys import VaultKeys, file_keyring

SECRET = "halo-client-secret-0123456789"
EMPTY: dict[str, Any] = {"token_url": None, "settings": {}, "secrets": {}}


async def _setup(store: Store) -> None:
    await store.create_tenant("acme")
    await store.create_tenant("other")
    acme = store.tenant("acme")
    await acme.create_customer("contoso")
    await acme.create_customer("fabrikam")
    await acme.connectors.save(
        "halopsa",
        kind="halopsa",
        base_url="https://acme.halopsa.com",
        token_url=None,
        settings={"client_id": "cid", "tenant_name": "acme"},
        secrets={"client_secret": SECRET},
    )


async def test_secrets_are_sealed_and_never_in_records(store: Store) -> None:
    await _setup(store)
    acme = store.tenant("acme")
    record = await acme.connectors.get("halopsa")
    assert record.secret_fields == ("client_secret",) and SECRET not in repr(record)
    async with store.reader() as session:
        raw = (await session.execute(sa.text("SELECT secrets_enc FROM connectors"))).scalar_one()
    assert SECRET not in raw
    entry = await acme.connectors.entry("halopsa")
    assert entry.secrets == {"client_secret": SECRET} and SECRET not in repr(entry)
    with pytest.raises(NotFound):
        await store.tenant("other").connectors.get("halopsa")


async def test_update_keeps_secrets_not_given_and_forgets_the_token(store: Store) -> None:
    await _setup(store)
    conns = store.tenant("acme").connectors
    await conns.save_token("halopsa", {"access_token": "at", "expires_at": 1})
    assert await conns.load_token("halopsa") == {"access_token": "at", "expires_at": 1}
    _, created = await conns.save(
        "halopsa",
        kind="halopsa",
        base_url="https://acme.halopsa.com",
        token_url=None,
        settings={"client_id": "cid", "tenant_name": "acme", "scope": "all"},
        secrets={},
    )
    assert created is False
    assert (await conns.entry("halopsa")).secrets == {"client_secret": SECRET}
    assert await conns.load_token("halopsa") is None
    with pytest.raises(InvalidInput, match="is a halopsa connector"):
        await conns.save(
            "halopsa", kind="hudu", base_url="https://x.huducloud.com", token_url=None, settings={}, secrets={}
        )


async def test_a_connector_cannot_take_an_upstream_name(store: Store) -> None:
    await _setup(store)
    acme = store.tenant("acme")
    await acme.add_upstream("docs", url="https://docs.example.com/mcp")
    with pytest.raises(AlreadyExists):
        await acme.connectors.save(
            "docs", kind="hudu", base_url="https://x.example.com", token_url=None, settings={}, secrets={}
        )


async def test_customer_vendor_ids_are_one_to_one_per_connector(store: Store) -> None:
    await _setup(store)
    conns = store.tenant("acme").connectors
    record = await conns.map_customer("contoso", "halopsa", "12")
    assert record.customers == {"contoso": "12"}
    with pytest.raises(InvalidInput, match="already mapped to 'contoso'"):
        await conns.map_customer("fabrikam", "halopsa", "12")
    await conns.map_customer("contoso", "halopsa", "13")  # re-mapping replaces
    await conns.map_customer("fabrikam", "halopsa", "12")
    assert (await conns.get("halopsa")).customers == {"contoso": "13", "fabrikam": "12"}
    with pytest.raises(NotFound):
        await store.tenant("other").connectors.map_customer("contoso", "halopsa", "1")
    snapshot = await store.load_snapshot()
    tenant = snapshot.tenants["acme"]
    (entry,) = snapshot.connectors_of(tenant.id)
    assert entry.record.customers == {"contoso": "13", "fabrikam": "12"} and entry.secrets["client_secret"] == SECRET
    await conns.unmap_customer("contoso", "halopsa")
    await store.tenant("acme").remove_customer("fabrikam")
    assert (await conns.get("halopsa")).customers == {}


async def test_rotate_key_reseals_while_old_envelopes_keep_opening(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    store.vault = VaultKeys(file_keyring(path), path)  # the file is created on first use
    await _setup(store)
    conns = store.tenant("acme").connectors
    await conns.save_token("halopsa", {"access_token": "at"})
    await store.tenant("acme").add_upstream("sio", command=["srv", "--stdio"], env={"API_TOKEN": "tok-123"})
    before = VaultKeys(file_keyring(path), path)  # another process, loaded before the rotation
    store.vault.rotate_file()
    assert len(path.read_text().split()) == 2
    assert (await conns.entry("halopsa")).secrets["client_secret"] == SECRET  # old key still opens
    assert await reseal_all(store) == (2, 0)
    assert await reseal_all(store) == (0, 2)
    store.vault = before  # a live gateway that never reloaded: it re-reads the key file on an unknown key
    assert (await conns.entry("halopsa")).secrets["client_secret"] == SECRET
    assert await conns.load_token("halopsa") == {"access_token": "at"}
    (sio,) = await store.tenant("acme").upstream_entries()
    assert dict(sio.spec.env) == {"API_TOKEN": "tok-123"}
