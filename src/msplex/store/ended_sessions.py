"""Ended legacy MCP sessions: the one piece of session state replicas must share.

A session id is self-contained (encrypted, see ``msplex.mcp.sessions``), so
any replica can serve it; ending one (HTTP DELETE) is the exception, and is
recorded here so every replica refuses it within a poll interval. Rows older
than a session's longest life are purged.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from msplex.store.errors import InvalidInput
from msplex.store.models import EndedSession, utcnow

__all__ = ["SessionMixin"]


class SessionMixin:
    _read: async_sessionmaker[AsyncSession]
    _write: async_sessionmaker[AsyncSession]

    async def end_session(self, sid: str, tenant_id: str) -> None:
        if not sid or len(sid) > 64:
            raise InvalidInput("sid", "must be 1-64 characters")
        async with self._write() as session, session.begin():
            session.add(EndedSession(sid=sid, tenant_id=tenant_id, ended_at=utcnow()))

    async def ended_sessions_after(self, seq: int, limit: int = 1000) -> tuple[list[str], int]:
        """Session ids ended after position ``seq``, and the position to ask from next."""
        async with self._read() as session:
            rows = (
                await session.execute(
                    sa.select(EndedSession.seq, EndedSession.sid)
                    .where(EndedSession.seq > seq)
                    .order_by(EndedSession.seq)
                    .limit(limit)
                )
            ).all()
        return [sid for _, sid in rows], (rows[-1][0] if rows else seq)

    async def purge_ended_sessions(self, before: datetime) -> int:
        async with self._write() as session, session.begin():
            result = await session.execute(sa.delete(EndedSession).where(EndedSession.ended_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
