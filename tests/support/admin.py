"""The admin API tests' harness: a started gateway (``GatewayApp``, the real edge) on a real store,
driven over ASGI (fixtures live in conftest.py).

Requests go through the edge exactly as a client's would (``Host: 127.0.0.1``), so the
``/admin/`` routing is part of every test. Principals are made through the store, as an
operator does with the CLI; ``sync()`` applies the control plane now instead of waiting for
its poll, so the gateway's identities know a token created a moment ago.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
import sqlalchemy as sa

from msplex.crypto import Keyring
from msplex.server import GatewayApp
from msplex.settings import Settings
from msplex.store import Store, make_engine

__all__ = ["BASE", "Admin", "bearer", "start_admin"]

POSTGRES_URL = os.environ.get("MSPLEX_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BASE = "/admin/v1"


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token is not None else {}


@dataclass
class Admin:
    app: GatewayApp
    store: Store
    http: httpx.AsyncClient
    operator: str
    """An operator token."""
    backend: str

    async def sync(self) -> None:
        await self.app.control.refresh()

    async def call(self, method: str, path: str, token: str | None, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=bearer(token), json=json, **kwargs)

    async def tenant(self, slug: str, **kwargs: Any) -> None:
        await self.store.create_tenant(slug, **kwargs)

    async def token(self, tenant: str, role: str = "member", customer: str | None = None, **kwargs: Any) -> str:
        plaintext, _ = await self.store.tenant(tenant).create_token(role=role, customer=customer, **kwargs)
        await self.sync()
        return plaintext

    async def tenant_admin(self, slug: str) -> str:
        """A new tenant ``slug`` and an admin token of it."""
        await self.tenant(slug)
        return await self.token(slug, "admin")


async def _postgres_schema(unavailable: Callable[[str, str], NoReturn]) -> str:
    admin = make_engine(POSTGRES_URL)
    schema = f"msplex_admin_{uuid.uuid4().hex[:12]}"
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        unavailable(f"PostgreSQL at {POSTGRES_URL}", f"{type(exc).__name__}: {str(exc)[:120]}")
    finally:
        await admin.dispose()
    return schema


async def _drop_schema(schema: str) -> None:
    admin = make_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


async def start_admin(backend: str, home: Path, unavailable: Callable[[str, str], NoReturn]) -> AsyncIterator[Admin]:
    settings = Settings(home=home)
    keyring = Keyring.load(settings)
    schema = None
    if backend == "sqlite":
        store = Store.from_settings(settings)
    else:
        schema = await _postgres_schema(unavailable)
        engine = make_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
        store = Store(engine, keyring)
    try:
        await store.migrate()
        operator, _ = await store.create_operator_token()
        app = GatewayApp(settings, store, keyring)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                yield Admin(app, store, http, operator, backend)
        finally:
            await app.shutdown()  # closes the store
    finally:
        await store.close()
        if schema is not None:
            await _drop_schema(schema)
