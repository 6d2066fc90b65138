"""Audit records and usage as JSON lines and CSV: one code path for the CLI and the admin API.

A record's row is ``AuditRecord.as_dict()``: its ``seq``, every fact, and its
links (``prev_hash``, ``hash``), so an export keeps what ``verify`` checks. CSV
cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first)
are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson

from msplex.store.audit import RECORD_COLUMNS, AuditRecord, UsageRow

__all__ = ["RECORD_COLUMNS", "USAGE_COLUMNS", "csv_lines", "jsonl_lines", "usage_dict", "usage_rows_csv"]

USAGE_COLUMNS = ("key", "calls", "ok", "denied", "held", "errors", "overage", "duration_ms", "denied_by_stage")


def jsonl_lines(records: Iterable[AuditRecord]) -> Iterable[str]:
    for record in records:
        yield orjson.dumps(record.as_dict()).decode() + "\n"


async def csv_lines(records: AsyncIterator[AuditRecord]) -> AsyncIterator[str]:
    """A header, then one line per record."""
    yield _csv_line(RECORD_COLUMNS)
    async for record in records:
        facts = record.as_dict()
        yield _csv_line([facts[column] for column in RECORD_COLUMNS])


def usage_dict(row: UsageRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "calls": row.calls,
        "ok": row.ok,
        "denied": row.denied,
        "held": row.held,
        "errors": row.errors,
        "overage": row.overage,
        "duration_ms": round(row.duration_us / 1000, 3),
        "denied_by_stage": dict(sorted(row.denied_by_stage.items())),
    }


def usage_rows_csv(rows: Iterable[UsageRow], key_name: str = "key") -> str:
    out = [_csv_line([key_name, *USAGE_COLUMNS[1:]])]
    for row in rows:
        facts = usage_dict(row)
        stages = ";".join(f"{stage}={n}" for stage, n in facts["denied_by_stage"].items())
        out.append(_csv_line([*(facts[c] for c in USAGE_COLUMNS[:-1]), stages]))
    return "".join(out)


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
