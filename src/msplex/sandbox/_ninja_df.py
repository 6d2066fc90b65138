"""NinjaOne's ``df`` device filter: parsed, then applied to the fake's devices.

The documented syntax is a conjunction of clauses (``AND``, any case)::

    org = 12 AND class in (WINDOWS_SERVER, WINDOWS_WORKSTATION) AND status = APPROVED AND online
    loc != 3      id not in (1, 2)      role = 5      policy = 7      created after 2026-01-01

Fields: ``org``, ``loc``, ``id``, ``role``, ``policy`` (numbers), ``class`` (node classes),
``status`` (``APPROVED``, ``PENDING``); operators ``=``, ``!=``, ``in``, ``not in``; bare
``online`` / ``offline``; ``created after|before yyyy-MM-dd``. Anything else is a
``FilterError`` (the fake answers 400): a filter the fake cannot read must never widen to "all".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["NODE_CLASSES", "DeviceFilter", "FilterError", "parse"]

NODE_CLASSES = frozenset(
    {
        "WINDOWS_SERVER",
        "WINDOWS_WORKSTATION",
        "LINUX_WORKSTATION",
        "MAC",
        "ANDROID",
        "APPLE_IOS",
        "APPLE_IPADOS",
        "VMWARE_VM_HOST",
        "VMWARE_VM_GUEST",
        "HYPERV_VMM_HOST",
        "HYPERV_VMM_GUEST",
        "LINUX_SERVER",
        "MAC_SERVER",
        "CLOUD_MONITOR_TARGET",
        "NMS_SWITCH",
        "NMS_ROUTER",
        "NMS_FIREWALL",
        "NMS_PRINTER",
        "NMS_OTHER",
    }
)
_STATUSES = frozenset({"APPROVED", "PENDING"})
_NUMERIC = {"org": "organizationId", "loc": "locationId", "id": "id", "role": "nodeRoleId", "policy": "policyId"}
_ENUMS = {"class": ("nodeClass", NODE_CLASSES), "status": ("approvalStatus", _STATUSES)}
_TOKEN = re.compile(r"\s*(!=|=|\(|\)|,|\d{4}-\d{2}-\d{2}|-?\d+|[A-Za-z_]+)")

DeviceFilter = Callable[[Mapping[str, Any]], bool]


class FilterError(ValueError):
    """The ``df`` value does not follow NinjaOne's device filter syntax."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while text[pos:].strip():
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterError(f"unexpected {text[pos:].strip()[:10]!r}")
        out.append(match.group(1))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def next(self, what: str) -> str:
        if self.i >= len(self.toks):
            raise FilterError(f"filter ends where {what} was expected")
        self.i += 1
        return self.toks[self.i - 1]

    def peek(self) -> str | None:
        return self.toks[self.i].lower() if self.i < len(self.toks) else None

    def parse(self) -> DeviceFilter:
        if not self.toks:
            raise FilterError("empty filter")
        clauses = [self.clause()]
        while self.i < len(self.toks):
            if self.next("AND").lower() != "and":
                raise FilterError(f"expected AND, found {self.toks[self.i - 1]!r} (only AND joins clauses)")
            clauses.append(self.clause())
        return lambda device: all(c(device) for c in clauses)

    def clause(self) -> DeviceFilter:
        word = self.next("a clause").lower()
        if word in {"online", "offline"}:
            wanted = word == "offline"
            return lambda d: bool(d.get("offline")) == wanted
        if word == "created":
            direction = self.next("after or before").lower()
            if direction not in {"after", "before"}:
                raise FilterError(f"created takes after or before, not {direction!r}")
            day = self.next("a date")
            try:
                when = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            except ValueError as err:
                raise FilterError(f"{day!r} is not a yyyy-MM-dd date") from err
            if direction == "after":
                return lambda d: float(d.get("created", 0)) > when
            return lambda d: float(d.get("created", 0)) < when
        if word not in _NUMERIC and word not in _ENUMS:
            raise FilterError(f"unknown filter field {word!r}")
        op = self.next("an operator").lower()
        if op == "not":
            if self.next("in").lower() != "in":
                raise FilterError("expected 'not in'")
            op = "not in"
        if op in {"=", "!="}:
            values = {self.value(word)}
        elif op in {"in", "not in"}:
            values = self.values(word)
        else:
            raise FilterError(f"unknown operator {op!r} after {word}")
        key = _NUMERIC.get(word) or _ENUMS[word][0]
        keep = op in {"=", "in"}
        return lambda d: (d.get(key) in values) == keep

    def values(self, field: str) -> set[Any]:
        if self.next("(") != "(":
            raise FilterError("in takes a parenthesised list")
        out = {self.value(field)}
        while (tok := self.next(", or )")) == ",":
            out.add(self.value(field))
        if tok != ")":
            raise FilterError(f"expected , or ) in the list, found {tok!r}")
        return out

    def value(self, field: str) -> Any:
        tok = self.next(f"a value for {field}")
        if field in _NUMERIC:
            if not re.fullmatch(r"-?\d+", tok):
                raise FilterError(f"{field} takes a number, not {tok!r}")
            return int(tok)
        allowed = _ENUMS[field][1]
        if tok.upper() not in allowed:
            raise FilterError(f"{tok!r} is not a {field} value")
        return tok.upper()


def parse(text: str) -> DeviceFilter:
    return _Parser(text).parse()
