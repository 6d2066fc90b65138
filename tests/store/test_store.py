"""Store behaviour on SQLite and PostgreSQL: tenants, upstreams, tokens, the control version."""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from msplex.crypto import Keyring
from msplex.store import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    SecretUnavailable,
    Store,
    hash_token,
)
from msplex.store.models import Base

TOKEN = re.compile(r"^mspx_[A-Za-z0-9_-]{40}$")


async def test_migrate_twice_is_a_no_op_and_matches_the_models(store: Store) -> None:
    await store.migrate()
    assert await store.control_version() == 1

    def diff(conn: sa.Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_tenant_slugs_are_validated_and_unique(store: Store) -> None:
    for bad in ("", "a", "Acme", "1acme", "acme_corp", "a" * 64, "acme corp"):
        with pytest.raises(InvalidInput):
            await store.create_tenant(bad)
    created = await store.create_tenant("acme", "Acme Corp", allow_anonymous=True)
    assert (created.slug, created.name, created.allow_anonymous) == ("acme", "Acme Corp", True)
    assert (await store.create_tenant("beta")).name == "beta"
    with pytest.raises(AlreadyExists, match="tenant 'acme' already exists"):
        await store.create_tenant("acme")
    assert [t.slug for t in await store.list_tenants()] == ["acme", "beta"]
    assert (await store.get_tenant("acme")).id == created.id
    with pytest.raises(NotFound, match="tenant 'gamma' does not exist"):
        await store.get_tenant("gamma")


async def test_upstream_input_is_validated(store: Store) -> None:
    await store.create_tenant("acme")
    cases: list[dict[str, object]] = [
        {"name": "Files", "url": "http://x/mcp"},
        {"name": "a__b", "url": "http://x/mcp"},
        {"name": "a+b", "url": "http://x/mcp"},
        {"name": "files"},
        {"name": "files", "url": "http://x/mcp", "command": ["x"]},
        {"name": "files", "url": "ftp://x/mcp"},
        {"name": "files", "url": "/relative"},
        {"name": "files", "url": "http://user:pw@x/mcp"},
        {"name": "files", "command": []},
        {"name": "files", "command": [""]},
        {"name": "files", "url": "http://x/", "headers": {"Bad Name": "v"}},
        {"name": "files", "url": "http://x/", "headers": {"X-A": "line\r\nInjected: 1"}},
        {"name": "files", "url": "http://x/", "headers": {"Mcp-Session-Id": "s"}},
        {"name": "files", "url": "http://x/", "headers": {"X-A": "1", "x-a": "2"}},
    ]
    for case in cases:
        name = str(case.pop("name"))
        with pytest.raises(InvalidInput):
            await store.tenant("acme").add_upstream(name, **case)  # type: ignore[arg-type]
    assert await store.tenant("acme").list_upstreams() == []
    with pytest.raises(NotFound):
        await store.tenant("nope").add_upstream("files", url="http://x/mcp")


async def test_upstreams_are_listed_in_registration_order_without_header_values(store: Store) -> None:
    await store.create_tenant("acme")
    await store.tenant("acme").add_upstream(
        "zeta", url="http://127.0.0.1:1/mcp", headers={"Authorization": "Bearer s3cr3t"}
    )
    await store.tenant("acme").add_upstream("alpha", command=["python", "-m", "srv", "a b"], prefix=False)
    listed = await store.tenant("acme").list_upstreams()
    assert [(u.name, u.transport, u.prefix) for u in listed] == [("zeta", "http", True), ("alpha", "stdio", False)]
    assert listed[0].header_names == ("Authorization",)
    assert "s3cr3t" not in repr(listed)
    assert listed[1].command == ("python", "-m", "srv", "a b")
    with pytest.raises(AlreadyExists, match="upstream 'zeta' already exists in tenant 'acme'"):
        await store.tenant("acme").add_upstream("zeta", url="http://127.0.0.1:2/mcp")
    await store.tenant("acme").remove_upstream("zeta")
    assert [u.name for u in await store.tenant("acme").list_upstreams()] == ["alpha"]
    with pytest.raises(NotFound, match="upstream 'zeta' does not exist in tenant 'acme'"):
        await store.tenant("acme").remove_upstream("zeta")


async def test_headers_are_encrypted_at_rest_and_bound_to_their_row(store: Store) -> None:
    await store.create_tenant("acme")
    await store.tenant("acme").add_upstream("one", url="http://127.0.0.1:1/mcp", headers={"X-Api-Key": "s3cr3t-value"})
    await store.tenant("acme").add_upstream("two", url="http://127.0.0.1:2/mcp", headers={"X-Api-Key": "other"})
    async with store.engine.begin() as conn:
        rows = (await conn.execute(sa.text("SELECT name, headers_enc FROM upstreams ORDER BY name"))).all()
        assert all("s3cr3t" not in str(row) and "X-Api-Key" not in str(row) for row in rows)
        # a ciphertext copied onto another row must not open there
        await conn.execute(sa.text("UPDATE upstreams SET headers_enc = :h WHERE name = 'two'"), {"h": rows[0][1]})
    with pytest.raises(SecretUnavailable, match="upstream 'two' in tenant 'acme'"):
        await store.tenant("acme").list_upstreams()
    snapshot = await store.load_snapshot()
    (one,) = snapshot.upstreams_of(snapshot.tenants["acme"].id)
    assert one.headers == (("X-Api-Key", "s3cr3t-value"),)


async def test_snapshot_skips_upstreams_whose_headers_another_key_sealed(store: Store, second_store: Store) -> None:
    await store.create_tenant("acme")
    await store.tenant("acme").add_upstream("sealed", url="http://127.0.0.1:1/mcp", headers={"X-Api-Key": "v"})
    await store.tenant("acme").add_upstream("plain", url="http://127.0.0.1:2/mcp")
    stranger = Store(second_store.engine, Keyring([os.urandom(32)]))
    snapshot = await stranger.load_snapshot()
    tenant = snapshot.tenants["acme"]
    assert [e.spec.name for e in snapshot.upstreams_of(tenant.id)] == ["plain"]
    with pytest.raises(SecretUnavailable, match="cannot be decrypted"):
        await stranger.tenant("acme").list_upstreams()


async def test_snapshot_holds_decrypted_specs_and_live_tokens(store: Store) -> None:
    acme = await store.create_tenant("acme")
    await store.tenant("acme").add_upstream(
        "files", url="http://127.0.0.1:1/mcp", headers={"Authorization": "Bearer t"}
    )
    await store.tenant("acme").add_upstream("shell", command=["srv", "--stdio"], prefix=False)
    token, record = await store.tenant("acme").create_token("ci")
    snapshot = await store.load_snapshot()
    assert snapshot.version == await store.control_version()
    assert snapshot.tenants["acme"] == snapshot.tenants_by_id[acme.id]
    files, shell = snapshot.upstreams_of(acme.id)
    assert files.headers == (("Authorization", "Bearer t"),)
    assert (files.spec.transport, files.spec.url, files.prefix) == ("http", "http://127.0.0.1:1/mcp", True)
    assert (shell.spec.transport, shell.spec.command, shell.prefix) == ("stdio", ("srv", "--stdio"), False)
    entry = snapshot.authenticate(token)
    assert entry is not None and (entry.tenant_id, entry.token_id) == (acme.id, record.id)
    assert snapshot.authenticate(token + "x") is None
    assert "Bearer t" not in repr(snapshot.tokens)


async def test_tokens_are_stored_hashed_and_revocable(store: Store) -> None:
    await store.create_tenant("acme")
    token, record = await store.tenant("acme").create_token()
    assert TOKEN.match(token)
    assert token.startswith(record.prefix) and len(record.prefix) < len(token) // 2
    async with store.engine.connect() as conn:
        row = (await conn.execute(sa.text("SELECT * FROM api_tokens"))).one()
    assert token not in str(row) and hash_token(token) in str(row)
    other, _ = await store.tenant("acme").create_token()
    assert other != token
    revoked = await store.tenant("acme").revoke_token(record.id)
    assert revoked.revoked_at is not None
    snapshot = await store.load_snapshot()
    assert snapshot.authenticate(token) is None and snapshot.authenticate(other) is not None
    assert [t.revoked_at is not None for t in await store.tenant("acme").list_tokens()] == [True, False]
    with pytest.raises(NotFound):
        await store.tenant("nope").create_token()


async def test_every_mutation_bumps_the_version_and_a_failed_one_does_not(store: Store) -> None:
    versions = [await store.control_version()]
    await store.create_tenant("acme")
    versions.append(await store.control_version())
    await store.tenant("acme").add_upstream("files", url="http://127.0.0.1:1/mcp")
    versions.append(await store.control_version())
    _, record = await store.tenant("acme").create_token()
    versions.append(await store.control_version())
    await store.tenant("acme").revoke_token(record.id)
    versions.append(await store.control_version())
    await store.tenant("acme").remove_upstream("files")
    versions.append(await store.control_version())
    assert versions == sorted(set(versions)) and len(versions) == 6
    with pytest.raises(AlreadyExists):
        await store.create_tenant("acme")
    with pytest.raises(NotFound):
        await store.tenant("acme").remove_upstream("files")
    await store.heartbeat("r1", "http://127.0.0.1:8000", 3, [])
    assert await store.control_version() == versions[-1]


async def test_cross_tenant_probe(store: Store) -> None:
    """Tenant B's operations can neither see nor touch tenant A's upstreams or tokens."""
    a = await store.create_tenant("tenant-a")
    b = await store.create_tenant("tenant-b")
    await store.tenant("tenant-a").add_upstream("files", url="http://127.0.0.1:1/mcp", headers={"X-Key": "a-secret"})
    token_a, record_a = await store.tenant("tenant-a").create_token()
    assert await store.tenant("tenant-b").list_upstreams() == []
    assert await store.tenant("tenant-b").upstream_entries() == []
    assert await store.tenant("tenant-b").list_tokens() == []
    with pytest.raises(NotFound):
        await store.tenant("tenant-b").remove_upstream("files")
    with pytest.raises(NotFound):
        await store.tenant("tenant-b").revoke_token(record_a.id)
    with pytest.raises(NotFound):
        await store.tenant("tenant-b").revoke_token(record_a.prefix)
    # the same name in another tenant is a different upstream
    await store.tenant("tenant-b").add_upstream("files", url="http://127.0.0.1:2/mcp")
    snapshot = await store.load_snapshot()
    assert [e.spec.url for e in snapshot.upstreams_of(a.id)] == ["http://127.0.0.1:1/mcp"]
    assert [e.spec.url for e in snapshot.upstreams_of(b.id)] == ["http://127.0.0.1:2/mcp"]
    assert all(e.headers == () for e in snapshot.upstreams_of(b.id))
    entry = snapshot.authenticate(token_a)
    assert entry is not None and entry.tenant_id == a.id
    assert (await store.tenant("tenant-a").list_tokens())[0].revoked_at is None
