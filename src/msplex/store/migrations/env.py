"""Alembic environment: runs on the connection ``msplex.store.engine.migrate`` passes in.

For development (``alembic revision --autogenerate``) it falls back to an
engine built from ``MSPLEX_DATABASE_URL`` / the default settings.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from msplex.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone() -> None:
    from msplex.settings import Settings
    from msplex.store.engine import make_engine

    engine = make_engine(Settings().database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_standalone())
