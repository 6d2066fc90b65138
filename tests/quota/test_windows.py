"""Quota windows are fixed UTC windows: a minute, a day, a calendar (billing) month, each with its own
counter key, so a new window starts from zero however busy the last one was."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from msplex.call import Call, Principal, Target
from msplex.quota import Quotas, window_end
from msplex.store.records import QuotaRecord


def test_each_window_ends_where_the_next_begins() -> None:
    moment = datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)
    assert window_end("minute", moment) == datetime(2027, 1, 1, tzinfo=UTC)
    assert window_end("day", moment) == datetime(2027, 1, 1, tzinfo=UTC)
    assert window_end("month", moment) == datetime(2027, 1, 1, tzinfo=UTC)
    assert window_end("month", datetime(2026, 2, 10, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)


class _Peer:
    can_request = False

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        return {}


def test_a_new_window_counts_on_a_new_key_that_lapses_after_it() -> None:
    quotas = Quotas("t-1", [QuotaRecord("q1", "monthly", "tenant", None, "month", 10, False)])
    target = Target("tool", "ev__x", "ev", "x", None, "upstream", {"name": "x"})  # type: ignore[arg-type]
    call = Call("tools/call", {}, 1, "modern", "2026-07-28", {}, _Peer()).learned(
        principal=Principal("token", "t-1", "k1", "member"), target=target
    )
    late = datetime(2026, 11, 30, 23, 59, tzinfo=UTC).timestamp()
    early = datetime(2026, 12, 1, 0, 1, tzinfo=UTC).timestamp()
    [(_, november)] = quotas.limits(call, late)
    [(_, december)] = quotas.limits(call, early)
    assert november.key.endswith(":202611:-") and december.key.endswith(":202612:-")
    assert 60 < november.ttl <= 120  # the rest of the window, plus a minute of slack
    assert december.ttl > 30 * 86400 and november.hard
