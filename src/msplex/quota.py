"""Quotas: limits on calls per tenant, customer, principal or tool over a fixed window.

A quota (``QuotaRecord``) counts the calls that reach a connector
(``tools/call``, ``prompts/get``, ``resources/read``) in fixed UTC windows: the
minute, the day, or the billing month (the calendar month, in UTC). Its
``scope`` says which calls it counts and how they are grouped:

    tenant      every counted call of the tenant, one counter
    customer    calls bound to the customer ``subject`` (or, without one, each customer apart)
    principal   calls of the principal ``subject`` (a key: ``token:<id>``, ``oidc:...``; or each apart)
    tool        tool calls whose public name matches the glob ``subject`` (or each tool apart)

A hard quota refuses the call that would pass its limit; an overage quota lets
it through flagged ``overage`` (metered as such). All the quotas a call meets
are checked and counted together in one atomic step of the shared state
(``SharedState.admit``: one round trip): with a limit of N, exactly N calls
are admitted however many race, on one replica or many. A call counts once it
clears stage 9, whatever later stages or the connector make of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from msplex.access import glob
from msplex.call import Call
from msplex.state import Limit
from msplex.store.records import QuotaRecord, QuotaWindow

__all__ = ["COUNTED", "Quotas", "describe", "window_end"]

COUNTED = frozenset({"tools/call", "prompts/get", "resources/read"})
"""The methods a quota counts: the ones that run something at a connector."""
_SLACK = 60.0
"""Seconds a counter outlives its window (clock skew between replicas)."""


def window_end(window: QuotaWindow, now: datetime) -> datetime:
    """When the window holding ``now`` (UTC) ends."""
    if window == "minute":
        return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if window == "day":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


_FORMATS = {"minute": "%Y%m%d%H%M", "day": "%Y%m%d", "month": "%Y%m"}
_windows: dict[str, tuple[float, float, str]] = {}
"""Per window kind, the current one: (start, end, id), Unix times; recomputed once it has passed."""


def _current(window: QuotaWindow, now: float) -> tuple[str, float]:
    """The id and end (Unix time) of the window holding ``now``: computed once per window, not per call."""
    cached = _windows.get(window)
    if cached is None or not cached[0] <= now < cached[1]:
        moment = datetime.fromtimestamp(now, UTC)
        end = window_end(window, moment)
        start = {"minute": end - timedelta(minutes=1), "day": end - timedelta(days=1)}.get(window)
        if start is None:
            start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        cached = _windows[window] = (start.timestamp(), end.timestamp(), moment.strftime(_FORMATS[window]))
    return cached[2], cached[1]


def describe(quota: QuotaRecord, customer_slugs: dict[str, str] | None = None) -> str:
    """``100 calls per day for each customer``: what a quota limits, for people."""
    subject = quota.subject
    if quota.scope == "tenant":
        whom = "for the tenant"
    elif quota.scope == "customer":
        whom = f"for customer {(customer_slugs or {}).get(subject, subject)}" if subject else "for each customer"
    elif quota.scope == "principal":
        whom = f"for {subject}" if subject else "for each caller"
    else:
        whom = f"for tools {subject}" if subject else "for each tool"
    return f"{quota.limit} calls per {quota.window} {whom}"


class Quotas:
    """One tenant's quotas, prepared once per snapshot; ``limits`` says which counters a call meets."""

    def __init__(self, tenant_id: str, records: Sequence[QuotaRecord] = ()) -> None:
        self.tenant_id = tenant_id
        self.records = tuple(records)
        self._tools = {q.id: glob(q.subject) for q in self.records if q.scope == "tool" and q.subject}

    def __bool__(self) -> bool:
        return bool(self.records)

    def limits(self, call: Call, now: float | None = None) -> list[tuple[QuotaRecord, Limit]]:
        """The quotas ``call`` counts against, each with its counter for the current window (``now``: Unix time)."""
        target = call.target
        if target is None or call.method not in COUNTED or not self.records:
            return []
        now = time.time() if now is None else now
        principal = call.principal
        customer_id = call.customer.id if call.customer is not None else None
        if customer_id is None and principal is not None:
            customer_id = principal.customer_id
        found: list[tuple[QuotaRecord, Limit]] = []
        for quota in self.records:
            group = self._group(quota, target.kind, target.public, customer_id, principal.key if principal else None)
            if group is None:
                continue
            window, end = _current(quota.window, now)
            key = f"quota:{self.tenant_id}:{quota.id}:{window}:{group}"
            found.append((quota, Limit(key, quota.limit, end - now + _SLACK, hard=not quota.overage)))
        return found

    def _group(
        self, quota: QuotaRecord, kind: str, public: str, customer: str | None, principal: str | None
    ) -> str | None:
        """Which counter of ``quota`` the call counts on; ``None``: the quota does not count it."""
        scope, subject = quota.scope, quota.subject
        if scope == "tenant":
            return "-"
        if scope == "customer":
            return customer if customer is not None and subject in (None, customer) else None
        if scope == "principal":
            return principal if principal is not None and subject in (None, principal) else None
        if kind != "tool":
            return None
        if subject is None:
            return public
        return "-" if self._tools[quota.id].match(public) else None
