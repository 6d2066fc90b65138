"""The audit log and the usage counters: appending a batch, and reading one tenant's records.

``append`` writes a batch of entries in the caller's transaction: it locks the
chain heads the batch touches (``FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already holds the write lock), links each entry to its
chain's last record, inserts the records in one statement, moves the heads, and
adds the batch's usage to the hourly counters (one upsert per distinct key).
Records and usage commit together or not at all. Two writers racing to start a
new chain collide on its first ``seq``; the loser's transaction fails and is
retried by the writer (``msplex.audit.writer``).

Reads are per tenant (``Store.tenant(slug).audit``), keyed by the tenant the slug
resolves to, like every tenant-owned table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from msplex.audit.entry import (
    CHAIN_PURPOSE,
    FIELDS,
    GENESIS,
    HEAD_PURPOSE,
    AuditEntry,
    content,
    facts_of,
    head_bytes,
    head_mac,
)
from msplex.store.errors import InvalidInput
from msplex.store.models import AuditHead, AuditRow, UsageCounter

if TYPE_CHECKING:
    from msplex.crypto import Keyring
    from msplex.store.store import Store
    from msplex.store.tenant import TenantStore

__all__ = [
    "APPROVAL_METHODS",
    "COUNTER_COLUMNS",
    "METRICS",
    "RECORD_COLUMNS",
    "USAGE_DIMENSIONS",
    "USAGE_KEY",
    "AuditQuery",
    "AuditRecord",
    "ChainLink",
    "Head",
    "Plan",
    "TenantAudit",
    "UsageRow",
    "append",
    "plan",
]

_RECORDS: sa.Table = AuditRow.__table__  # type: ignore[assignment]
_HEADS: sa.Table = AuditHead.__table__  # type: ignore[assignment]
_USAGE: sa.Table = UsageCounter.__table__  # type: ignore[assignment]
METRICS = ("calls", "ok", "denied", "held", "errors", "overage", "duration_us")
USAGE_KEY = ("tenant_id", "hour", "method", "customer", "connector", "tool", "principal", "stage")
COUNTER_COLUMNS = (*USAGE_KEY, *METRICS)
RECORD_COLUMNS = ("seq", *FIELDS, "prev_hash", "hash")
USAGE_DIMENSIONS = ("customer", "connector", "tool", "principal")
_PAGE = 1000
APPROVAL_METHODS = "approvals/"
"""The method prefix of approval decisions (``approvals/approve``, ``approvals/deny``): audited, not metered."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored record: its place in the tenant's chain, its links, and its facts."""

    seq: int
    prev_hash: str
    hash: str
    entry: AuditEntry

    def as_dict(self) -> dict[str, Any]:
        facts = {name: getattr(self.entry, name) for name in FIELDS}
        facts["at"] = self.entry.at.isoformat().replace("+00:00", "Z")
        return {"seq": self.seq, **facts, "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class Head:
    """A chain's last record as its head row names it, and whether the head's MAC holds."""

    seq: int
    hash: str
    intact: bool = True


@dataclass(frozen=True, slots=True)
class ChainLink:
    """What verification needs of a record: where it sits, what it points to, and whether its MAC holds."""

    seq: int
    prev_hash: str
    hash: str
    intact: bool


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Search filters; ``None`` matches anything. ``tool`` may hold ``*`` wildcards."""

    principal: str | None = None
    tool: str | None = None
    customer: str | None = None
    stage: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Usage of one group (``key``: the ``by`` dimension's value, ``""`` for the whole tenant)."""

    key: str
    calls: int
    ok: int
    denied: int
    held: int
    errors: int
    overage: int
    duration_us: int
    denied_by_stage: dict[str, int]


# writing ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """A batch ready to write: its records (chained onto ``heads``), the heads after it, and its usage."""

    records: list[tuple[Any, ...]]
    """One tuple per record, in ``RECORD_COLUMNS`` order (rows, not dicts: this runs for every record)."""
    heads: dict[str, tuple[int, str, str]]
    """Every chain the batch touched, at its new head: ``seq``, ``hash`` and the head's MAC."""
    known: set[str]
    """Chains that had a head before the batch (updated; the others are inserted)."""
    usage: list[tuple[Any, ...]]
    """One tuple per distinct counter key, in ``COUNTER_COLUMNS`` order."""


def plan(keyring: Keyring, entries: Sequence[AuditEntry], heads: dict[str, tuple[int, str]]) -> Plan:
    """Link each entry to its chain's last record (``heads``: the chains' heads as read in the transaction)."""
    known = set(heads)
    heads = dict(heads)
    records: list[tuple[Any, ...]] = []
    for entry in entries:
        tenant_id = entry.tenant_id
        seq, prev = heads.get(tenant_id, (0, GENESIS))
        seq += 1
        facts = facts_of(entry)
        digest = keyring.mac(content(prev, facts), purpose=CHAIN_PURPOSE)
        records.append((seq, *facts, prev, digest))
        heads[tenant_id] = (seq, digest)
    touched = {e.tenant_id for e in entries}
    moved = {t: (s, h, head_mac(keyring, t, s, h)) for t, (s, h) in heads.items() if t in touched}
    return Plan(records, moved, known, _usage(entries))


async def append(conn: AsyncConnection, keyring: Keyring, entries: Sequence[AuditEntry]) -> list[int]:
    """Chain and insert ``entries`` (in order) in ``conn``'s open transaction; returns their ``seq``s."""
    if not entries:
        return []
    chains = sorted({e.tenant_id for e in entries})
    heads_query = sa.select(_HEADS.c.tenant_id, _HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.tenant_id.in_(chains))
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        heads_query = heads_query.with_for_update()
    heads = {row.tenant_id: (int(row.seq), str(row.hash)) for row in await conn.execute(heads_query)}
    batch = plan(keyring, entries, heads)
    await conn.execute(_RECORDS.insert(), [dict(zip(RECORD_COLUMNS, r, strict=True)) for r in batch.records])
    moved = [{"t": t, "s": s, "h": h, "m": m} for t, (s, h, m) in batch.heads.items() if t in batch.known]
    if moved:
        await conn.execute(
            _HEADS.update()
            .where(_HEADS.c.tenant_id == sa.bindparam("t"))
            .values(seq=sa.bindparam("s"), hash=sa.bindparam("h"), mac=sa.bindparam("m")),
            moved,
        )
    started = [
        {"tenant_id": t, "seq": s, "hash": h, "mac": m} for t, (s, h, m) in batch.heads.items() if t not in batch.known
    ]
    if started:
        await conn.execute(_HEADS.insert(), started)
    if batch.usage:
        insert = (postgresql.insert if postgres else sqlite.insert)(_USAGE)
        excluded = insert.excluded
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=USAGE_KEY,
                set_={name: _USAGE.c[name] + excluded[name] for name in METRICS},
            ),
            [dict(zip(COUNTER_COLUMNS, u, strict=True)) for u in batch.usage],
        )
    return [r[0] for r in batch.records]


def _usage(entries: Sequence[AuditEntry]) -> list[tuple[Any, ...]]:
    """The batch's usage, summed per counter key (calls with a tenant only)."""
    sums: dict[tuple[Any, ...], list[int]] = {}
    for e in entries:
        if not e.tenant_id or e.method.startswith(APPROVAL_METHODS):
            continue
        hour = e.at.replace(minute=0, second=0, microsecond=0)
        key = (e.tenant_id, hour, e.method, e.customer or "", e.connector or "", (e.name or "")[:200], e.principal,
               e.stage)  # fmt: skip
        counts = sums.setdefault(key, [0] * len(METRICS))
        counts[0] += 1
        counts[1] += e.outcome in ("ok", "tool_error")
        counts[2] += e.outcome == "denied"
        counts[3] += e.outcome == "held"
        counts[4] += e.outcome in ("error", "tool_error")
        counts[5] += e.overage
        counts[6] += e.latency_us
    return [(*key, *counts) for key, counts in sums.items()]


# reading ----------------------------------------------------------------------------------------


def _record(row: sa.Row[Any]) -> AuditRecord:
    facts = row._mapping
    return AuditRecord(
        int(facts["seq"]), facts["prev_hash"], facts["hash"], AuditEntry(**{n: facts[n] for n in FIELDS})
    )


class TenantAudit:
    def __init__(self, store: Store, tenants: TenantStore) -> None:
        self._store = store
        self._tenants = tenants

    def _where(self, tenant_id: str, query: AuditQuery) -> list[sa.ColumnElement[bool]]:
        c = _RECORDS.c
        where: list[sa.ColumnElement[bool]] = [c.tenant_id == tenant_id]
        if query.principal is not None:
            where.append(c.principal == query.principal)
        if query.tool is not None:
            if "*" in query.tool:
                like = query.tool.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
                where.append(c.name.like(like, escape="\\"))
            else:
                where.append(c.name == query.tool)
        if query.customer is not None:
            where.append(c.customer == query.customer)
        if query.stage is not None:
            where.append(c.stage == query.stage)
        if query.outcome is not None:
            where.append(c.outcome == query.outcome)
        if query.since is not None:
            where.append(c.at >= query.since)
        if query.until is not None:
            where.append(c.at < query.until)
        return where

    async def search(
        self, query: AuditQuery | None = None, *, limit: int = 100, before: int | None = None
    ) -> list[AuditRecord]:
        """Matching records, newest first; ``before``: only records with a smaller ``seq`` (paging)."""
        if not 0 < limit <= 10_000:
            raise InvalidInput("limit", "must be between 1 and 10000")
        async with self._store.reader() as session:
            tenant = await self._tenants._tenant(session)
            where = self._where(tenant.id, query or AuditQuery())
            if before is not None:
                where.append(_RECORDS.c.seq < before)
            rows = await session.execute(sa.select(_RECORDS).where(*where).order_by(_RECORDS.c.seq.desc()).limit(limit))
            return [_record(r) for r in rows]

    async def records(self, query: AuditQuery | None = None) -> AsyncIterator[AuditRecord]:
        """Every matching record, oldest first, read a page at a time (for exports)."""
        after = 0
        while True:
            async with self._store.reader() as session:
                tenant = await self._tenants._tenant(session)
                where = [*self._where(tenant.id, query or AuditQuery()), _RECORDS.c.seq > after]
                page = [
                    _record(r)
                    for r in await session.execute(
                        sa.select(_RECORDS).where(*where).order_by(_RECORDS.c.seq).limit(_PAGE)
                    )
                ]
            for record in page:
                yield record
            if len(page) < _PAGE:
                return
            after = page[-1].seq

    async def chain(self) -> tuple[Head | None, list[ChainLink]]:
        """The chain's head (``None`` before the first record) and every record, in ``seq`` order, with whether
        each MAC holds: read in one snapshot, so the head and the records agree."""
        keyring = self._store.keyring
        links: list[ChainLink] = []
        async with self._store.reader() as session:
            if self._store.engine.dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            tenant = await self._tenants._tenant(session)
            head_row = (
                await session.execute(
                    sa.select(_HEADS.c.seq, _HEADS.c.hash, _HEADS.c.mac).where(_HEADS.c.tenant_id == tenant.id)
                )
            ).first()
            head = None
            if head_row is not None:
                seq, digest = int(head_row.seq), str(head_row.hash)
                intact = keyring.mac_matches(head_bytes(tenant.id, seq, digest), head_row.mac, purpose=HEAD_PURPOSE)
                head = Head(seq, digest, intact)
            after: int | None = None
            while True:
                where = [_RECORDS.c.tenant_id == tenant.id]
                if after is not None:
                    where.append(_RECORDS.c.seq > after)
                query = sa.select(_RECORDS).where(*where).order_by(_RECORDS.c.seq).limit(_PAGE)
                rows = list(await session.execute(query))
                for row in rows:
                    facts = row._mapping
                    intact = keyring.mac_matches(
                        content(facts["prev_hash"], facts), facts["hash"], purpose=CHAIN_PURPOSE
                    )
                    links.append(ChainLink(int(facts["seq"]), facts["prev_hash"], facts["hash"], intact))
                if len(rows) < _PAGE:
                    return head, links
                after = links[-1].seq

    async def usage(
        self, by: str | None = None, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[UsageRow]:
        """Usage per value of ``by`` (one of ``USAGE_DIMENSIONS``; ``None``: the tenant's total), busiest first.
        Counters are hourly: ``since`` and ``until`` are taken to the hour."""
        if by is not None and by not in USAGE_DIMENSIONS:
            raise InvalidInput("by", f"'{by}' is not one of {', '.join(USAGE_DIMENSIONS)}")
        c = _USAGE.c
        group = c[by] if by is not None else sa.literal("")
        async with self._store.reader() as session:
            tenant = await self._tenants._tenant(session)
            where: list[sa.ColumnElement[bool]] = [c.tenant_id == tenant.id]
            if since is not None:
                where.append(c.hour >= since.replace(minute=0, second=0, microsecond=0))
            if until is not None:
                where.append(c.hour < until)
            sums = [sa.func.sum(c[name]) for name in METRICS]
            rows = await session.execute(
                sa.select(group.label("key"), c.stage, *sums).where(*where).group_by(group, c.stage)
            )
        groups: dict[str, UsageRow] = {}
        for key, stage, *values in rows:
            counts = [int(v or 0) for v in values]
            old = groups.get(key)
            by_stage = dict(old.denied_by_stage) if old is not None else {}
            if counts[2]:
                by_stage[stage] = by_stage.get(stage, 0) + counts[2]
            if old is not None:
                counts = [a + b for a, b in zip(counts, _counts(old), strict=True)]
            calls, ok, denied, held, errors, overage, duration = counts
            groups[key] = UsageRow(key, calls, ok, denied, held, errors, overage, duration, by_stage)
        return sorted(groups.values(), key=lambda u: (-u.calls, u.key))


def _counts(row: UsageRow) -> list[int]:
    return [row.calls, row.ok, row.denied, row.held, row.errors, row.overage, row.duration_us]
