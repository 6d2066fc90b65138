"""The audit batch on SQLite, through the standard library's ``sqlite3``, on its own connection.

Why not the async engine: a batch through SQLAlchemy's asyncio layer and
aiosqlite costs ~1.8 ms of CPU per transaction (a greenlet switch and a thread
hand-off per statement), several times the budget of the whole chain per call
(``bench/audit_write.py``). Here the same transaction (``BEGIN IMMEDIATE``,
heads, records, usage, ``COMMIT``) runs in C. A small batch (``INLINE_MAX``)
runs right on the event loop, taking the write lock without waiting: it costs
~50-100 µs of the loop, less than handing it to a thread (the hand-off and the
GIL passing back and forth cost ~25% more CPU). When another connection holds
the lock, and for big batches, it runs on the writer thread, which waits for
the lock. The connection never checkpoints on commit (that would fsync on the
loop); ``maintain`` checkpoints on the thread every ``CHECKPOINT_EVERY`` commits.

The rows are planned by ``msplex.store.audit.plan``, as on PostgreSQL, and
stored exactly as SQLAlchemy stores them (naive UTC datetimes in its
``DATETIME`` text format, booleans as 0/1), so every reader is the ORM's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from msplex.store.audit import COUNTER_COLUMNS, METRICS, RECORD_COLUMNS, USAGE_KEY, plan

if TYPE_CHECKING:
    from msplex.audit.entry import AuditEntry
    from msplex.crypto import Keyring

__all__ = ["CHECKPOINT_EVERY", "INLINE_MAX", "SqliteAppender"]

INLINE_MAX = 64
CHECKPOINT_EVERY = 256
_BUSY_WAIT_MS = 10_000

_INSERT = f"INSERT INTO audit_records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"
_UPSERT = (
    f"INSERT INTO usage_counters ({', '.join(COUNTER_COLUMNS)}) VALUES ({', '.join('?' * len(COUNTER_COLUMNS))}) "
    f"ON CONFLICT ({', '.join(USAGE_KEY)}) DO UPDATE SET " + ", ".join(f"{m} = {m} + excluded.{m}" for m in METRICS)
)
_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "wal_autocheckpoint=0")


_AT = RECORD_COLUMNS.index("at")
_HOUR = COUNTER_COLUMNS.index("hour")


def _when(moment: datetime) -> str:
    """A UTC datetime as SQLAlchemy's SQLite ``DATETIME`` stores it (``%Y-%m-%d %H:%M:%S.%f``; isoformat is
    the same text at a fraction of strftime's cost)."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _record_row(record: tuple[Any, ...]) -> list[Any]:
    row = list(record)  # booleans bind as 0/1 (bool is an int), as SQLAlchemy stores them
    row[_AT] = _when(row[_AT])
    return row


def _usage_row(usage: tuple[Any, ...]) -> list[Any]:
    row = list(usage)
    row[_HOUR] = _when(row[_HOUR])
    return row


class _Busy(Exception):
    """Another connection holds the write lock (on the loop, we do not wait for it)."""


class SqliteAppender:
    """Appends batches to the SQLite database at ``path``; one connection, used by one batch at a time."""

    def __init__(self, path: str, keyring: Keyring) -> None:
        self._path = path
        self._keyring = keyring
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msplex-audit")
        self._db: sqlite3.Connection | None = None
        self._closed = False
        self._waits: bool | None = None
        self._commits = 0

    async def append(self, entries: Sequence[AuditEntry]) -> list[int]:
        if len(entries) <= INLINE_MAX:
            try:
                return self._append(entries, wait=False)
            except _Busy:
                pass
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._append, entries, True)

    async def maintain(self) -> None:
        """Between batches: checkpoint the write-ahead log on the thread every ``CHECKPOINT_EVERY`` commits."""
        if self._commits >= CHECKPOINT_EVERY:
            self._commits = 0
            await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)

    def _checkpoint(self) -> None:
        if self._db is not None:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")

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

    def _append(self, entries: Sequence[AuditEntry], wait: bool) -> list[int]:
        db = self._db or self._connect()
        if self._waits is not wait:
            db.execute(f"PRAGMA busy_timeout={_BUSY_WAIT_MS if wait else 0}")
            self._waits = wait
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise _Busy() from None
            raise
        try:
            chains = sorted({e.tenant_id for e in entries})
            marks = ", ".join("?" * len(chains))
            rows = db.execute(f"SELECT tenant_id, seq, hash FROM audit_heads WHERE tenant_id IN ({marks})", chains)
            batch = plan(self._keyring, entries, {t: (int(s), str(h)) for t, s, h in rows})
            db.executemany(_INSERT, [_record_row(r) for r in batch.records])
            if moved := [(s, h, m, t) for t, (s, h, m) in batch.heads.items() if t in batch.known]:
                db.executemany("UPDATE audit_heads SET seq = ?, hash = ?, mac = ? WHERE tenant_id = ?", moved)
            if started := [(t, s, h, m) for t, (s, h, m) in batch.heads.items() if t not in batch.known]:
                db.executemany("INSERT INTO audit_heads (tenant_id, seq, hash, mac) VALUES (?, ?, ?, ?)", started)
            if batch.usage:
                db.executemany(_UPSERT, [_usage_row(u) for u in batch.usage])
            db.execute("COMMIT")
            self._commits += 1
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return [r[0] for r in batch.records]
