"""The group-commit writer: every audited call waits for the commit of the batch that holds its record.

``submit`` queues an entry and returns a future; one task drains the queue, writing
everything queued so far (up to ``max_batch`` records) in one transaction
(``msplex.store.audit.append``: records, chain heads and usage counters), then
resolves the batch's futures. While a batch commits, the next one gathers, so
the batch grows with the load and the store sees one transaction per batch, not
per call: no other database round trip is added to a call.

A transaction costs far more CPU than a record (``bench/audit_write.py``), and
on one event loop the calls rarely reach stage 12 together: a batch would hold
one or two records. So the chain announces each audited call as it starts
(``expect``) and counts it off as it reaches stage 12 (``arrive``); while other
announced calls are under way, the writer waits for them, up to ``linger``
seconds, before it commits (PostgreSQL's ``commit_delay`` with
``commit_siblings``). A lone call is never held back, and the wait costs no
CPU; it only lets more records share the transaction.

A batch that fails is retried (a fresh transaction re-reads the chain heads, so
a replica that raced to start a chain is followed); if it still fails, its
futures fail with ``AuditUnavailable`` and the calls are answered with an
error: no response leaves without its record. ``close`` writes what is queued.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from msplex.store.audit import append
from msplex.store.audit_sqlite import SqliteAppender
from msplex.store.engine import IMMEDIATE

if TYPE_CHECKING:
    from msplex.audit.entry import AuditEntry
    from msplex.crypto import Keyring
    from msplex.store import Store

__all__ = ["AuditUnavailable", "AuditWriter"]

log = logging.getLogger("msplex.audit")

_RETRY_SECONDS = (0.05, 0.2, 1.0)
LINGER_SECONDS = 0.001
"""How long a batch waits, at most, for announced calls under way (a lone call never waits)."""


class AuditUnavailable(Exception):
    """The record could not be made durable (the store refused or is unreachable)."""


class AuditWriter:
    def __init__(self, store: Store, *, max_batch: int = 2000, linger: float = LINGER_SECONDS) -> None:
        self._store = store
        url = store.engine.url
        database = url.database or ""
        file_backed = (
            url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:")
        )
        self._sqlite = SqliteAppender(database, store.keyring) if file_backed else None
        """SQLite files get the direct writer thread (``msplex.store.audit_sqlite``); others the async engine."""
        self.max_batch = max_batch
        self.linger = linger
        self._coming = 0
        """Announced calls (``expect``) that have not reached stage 12 yet (``arrive``)."""
        self._gathered: asyncio.Future[None] | None = None
        """While the writer lingers: resolved when the last announced call has arrived."""
        self._queue: list[tuple[AuditEntry, asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0
        self.records = 0

    @property
    def keyring(self) -> Keyring:
        return self._store.keyring

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-writer")

    async def close(self) -> None:
        """Write what is queued, then stop taking records."""
        self._closing = True
        self._wake.set()
        if self._gathered is not None:
            _settle(self._gathered)
        if self._task is not None:
            await self._task
        if self._sqlite is not None:
            await self._sqlite.close()
        log.info("audit writer: %d record(s) in %d transaction(s)", self.records, self.batches)

    def expect(self) -> None:
        """An audited call started: its record will come (each ``expect`` is matched by one ``arrive``)."""
        self._coming += 1

    def arrive(self) -> None:
        """An announced call reached stage 12 (its record is submitted next, or it failed to build)."""
        self._coming -= 1
        if self._coming <= 0 and self._gathered is not None and not self._gathered.done():
            self._gathered.set_result(None)

    def submit(self, entry: AuditEntry) -> asyncio.Future[None]:
        """Queue ``entry``; the future resolves once it is committed (or fails with ``AuditUnavailable``)."""
        self._check()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume)
        self._queue.append((entry, future))
        self._wake.set()
        if self._gathered is not None and len(self._queue) >= self.max_batch:
            _settle(self._gathered)
        return future

    def post(self, entry: AuditEntry) -> None:
        """Queue ``entry`` with nobody waiting for it (a call whose caller is gone)."""
        self._check()
        self._queue.append((entry, None))
        self._wake.set()

    def _check(self) -> None:
        if self._closing or self._task is None or self._task.done():
            raise AuditUnavailable("the audit writer is not running")

    async def write(self, entry: AuditEntry) -> None:
        """Submit ``entry`` and wait for its commit (the wait may be cancelled; the record is still written)."""
        await asyncio.shield(self.submit(entry))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._coming > 0 and self.linger > 0 and not self._closing:
                await self._gather()
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._commit(batch)
                if self._sqlite is not None:
                    await self._maintain(self._sqlite)
            if self._closing:
                return

    async def _gather(self) -> None:
        """Wait until every announced call has arrived, or ``linger`` seconds."""
        loop = asyncio.get_running_loop()
        gathered = self._gathered = loop.create_future()
        timer = loop.call_later(self.linger, _settle, gathered)
        try:
            await gathered
        finally:
            timer.cancel()
            self._gathered = None

    @staticmethod
    async def _maintain(appender: SqliteAppender) -> None:
        try:
            await appender.maintain()
        except Exception as exc:  # a checkpoint that could not run now runs at a later one
            log.warning("audit log checkpoint failed: %s", type(exc).__name__)

    async def _commit(self, batch: list[tuple[AuditEntry, asyncio.Future[None] | None]]) -> None:
        entries = [entry for entry, _ in batch]
        failure: BaseException | None = None
        for pause in (*_RETRY_SECONDS, None):
            try:
                if self._sqlite is not None:
                    await self._sqlite.append(entries)
                else:
                    async with self._store.engine.connect() as raw:
                        conn = await raw.execution_options(**IMMEDIATE)
                        async with conn.begin():
                            await append(conn, self._store.keyring, entries)
                failure = None
                break
            except Exception as exc:
                failure = exc
                if pause is None:
                    break
                log.warning("audit batch of %d record(s) failed (%s); retrying", len(batch), type(exc).__name__)
                await asyncio.sleep(pause)
        if failure is not None:
            reason = str(getattr(failure, "orig", None) or type(failure).__name__).splitlines()[0][:200]
            log.error("audit batch of %d record(s) could not be written: %s", len(batch), reason)
        else:
            self.batches += 1
            self.records += len(batch)
        for _, future in batch:
            if future is None or future.done():
                continue
            if failure is None:
                future.set_result(None)
            else:
                future.set_exception(AuditUnavailable("the audit record could not be written"))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _consume(future: asyncio.Future[None]) -> None:
    """A caller that stopped waiting (cancelled) leaves no 'exception never retrieved' behind."""
    if not future.cancelled():
        future.exception()
