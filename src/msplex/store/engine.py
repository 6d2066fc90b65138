"""Engines and schema migrations.

SQLite engines get WAL, foreign keys, a busy timeout, and real transactions:
pysqlite's implicit transaction handling is switched off and ``BEGIN`` is
emitted by us, as ``BEGIN IMMEDIATE`` for connections marked
``sqlite_immediate`` (writers and migrations), so two processes never
interleave a read-then-write and DDL is transactional.

``migrate`` runs Alembic's ``upgrade head`` on the engine's own connection,
under a lock (PostgreSQL advisory lock / SQLite write lock), so every replica
and every CLI command may call it at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["IMMEDIATE", "make_engine", "migrate", "migrations_config"]

IMMEDIATE = {"sqlite_immediate": True}
_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATE_LOCK = 0x6D73706C6578  # "msplex"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``; creates a SQLite file's directory if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def migrations_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(migrations_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; a no-op when it already is."""
    async with engine.connect() as raw:
        conn: AsyncConnection = await raw.execution_options(**IMMEDIATE)
        async with conn.begin():
            if engine.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATE_LOCK})
            await conn.run_sync(_upgrade)
