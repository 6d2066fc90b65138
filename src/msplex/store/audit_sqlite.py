"""The audit batch on SQLite, through the standard library's ``sqlite3`` on one writer thread.

Why not the async engine: a batch through SQLAlchemy's asyncio layer and
aiosqlite costs ~1.8 ms of CPU per transaction (a greenlet switch and a thread
hand-off per statement, five statements), which at the gateway's usual
concurrency is several times the budget of the whole chain per call
(``bench/audit_write.py``). Here a batch is one hand-off to a dedicated thread
that runs the same transaction (``BEGIN IMMEDIATE``, heads, records, usage,
``COMMIT``) in C. The rows are planned by ``msplex.store.audit.plan``, as on
PostgreSQL, and stored exactly as SQLAlchemy stores them (naive UTC datetimes
in its ``DATETIME`` text format, booleans as 0/1), so every reader is the ORM's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msplex.audit.entry import FIELDS
from msplex.store.audit import METRICS, USAGE_KEY, plan

if TYPE_CHECKING:
    from msplex.audit.entry import AuditEntry
    from msplex.crypto import Keyring

__all__ = ["SqliteAppender"]

_COLUMNS = ("seq", *FIELDS, "prev_hash", "hash")
_INSERT = f"INSERT INTO audit_records ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_USAGE_COLUMNS = (*USAGE_KEY, *METRICS)
_UPSERT = (
    f"INSERT INTO usage_counters ({', '.join(_USAGE_COLUMNS)}) VALUES ({', '.join('?' * len(_USAGE_COLUMNS))}) "
    f"ON CONFLICT ({', '.join(USAGE_KEY)}) DO UPDATE SET " + ", ".join(f"{m} = {m} + excluded.{m}" for m in METRICS)
)
_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=NORMAL")


_AT = _COLUMNS.index("at")
_OVERAGE = _COLUMNS.index("overage")
_HOUR = _USAGE_COLUMNS.index("hour")


def _when(moment: datetime) -> str:
    """A UTC datetime as SQLAlchemy's SQLite ``DATETIME`` stores it."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _record_row(record: dict[str, Any]) -> list[Any]:
    row = [record[c] for c in _COLUMNS]
    row[_AT] = _when(row[_AT])
    row[_OVERAGE] = int(row[_OVERAGE])
    return row


def _usage_row(usage: dict[str, Any]) -> list[Any]:
    row = [usage[c] for c in _USAGE_COLUMNS]
    row[_HOUR] = _when(row[_HOUR])
    return row


class SqliteAppender:
    """Appends batches to the SQLite database at ``path``; one connection, owned by one thread."""

    def __init__(self, path: str, keyring: Keyring) -> None:
        self._path = path
        self._keyring = keyring
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msplex-audit")
        self._db: sqlite3.Connection | None = None
        self._closed = False

    async def append(self, entries: Sequence[AuditEntry]) -> list[int]:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._append, entries)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in _PRAGMAS:
            db.execute(f"PRAGMA {pragma}")
        self._db = db
        return db

    def _append(self, entries: Sequence[AuditEntry]) -> list[int]:
        db = self._db or self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            chains = sorted({e.tenant_id for e in entries})
            marks = ", ".join("?" * len(chains))
            rows = db.execute(f"SELECT tenant_id, seq, hash FROM audit_heads WHERE tenant_id IN ({marks})", chains)
            batch = plan(self._keyring, entries, {t: (int(s), str(h)) for t, s, h in rows})
            db.executemany(_INSERT, [_record_row(r) for r in batch.records])
            db.executemany(
                "UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?",
                [(s, h, t) for t, (s, h) in batch.heads.items() if t in batch.known],
            )
            db.executemany(
                "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?, ?, ?)",
                [(t, s, h) for t, (s, h) in batch.heads.items() if t not in batch.known],
            )
            db.executemany(_UPSERT, [_usage_row(u) for u in batch.usage])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return [r["seq"] for r in batch.records]
