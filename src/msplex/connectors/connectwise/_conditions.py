"""Building ConnectWise ``conditions`` safely: quoted values, and a model's own expression kept in its parentheses.

The customer filter is always the first clause and everything else is AND-ed to it inside
parentheses: ``company/id=250 and (<tool filters>) and (<model conditions>)``. Values the model
passes for typed filters are quoted and escaped here (``"`` and ``\\``), never spliced. A raw
``conditions`` argument is tokenised first: a string left open, a character outside Manage's
syntax, or a ``)`` that would close a parenthesis it did not open is refused, so no text can step
out of its parentheses and OR itself past the customer filter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from msplex.connectors.framework import ToolError

__all__ = ["MAX_CONDITIONS", "all_of", "checked", "date", "number", "quote"]

MAX_CONDITIONS = 2000
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<date>\[[0-9TZ:.+\- ]*\])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<word>[A-Za-z_][\w/.]*)
    )""",
    re.VERBOSE,
)


def quote(text: Any) -> str:
    """A Manage string literal: double quotes, with ``\\`` and ``"`` escaped."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: Any, what: str = "id") -> int:
    """An integer for a numeric comparison (a vendor id from the customer map included): never spliced text."""
    try:
        return int(str(value), 10)
    except ValueError:
        raise ToolError(f"{what} must be a whole number, not {value!r}") from None


def date(value: str, what: str = "date") -> str:
    """``[YYYY-MM-DDTHH:MM:SSZ]`` from an ISO 8601 date or date-time (UTC when no offset is given)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"{what} must be an ISO 8601 date such as 2026-11-01 or 2026-11-01T08:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return "[" + parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "]"


def checked(expression: str) -> str:
    """A model's ``conditions`` expression, refused unless its strings close and its parentheses balance."""
    if len(expression) > MAX_CONDITIONS:
        raise ToolError(f"conditions is too long (at most {MAX_CONDITIONS} characters)")
    depth, pos = 0, 0
    while expression[pos:].strip():
        match = _TOKEN.match(expression, pos)
        if match is None:
            snippet = expression[pos:].strip()[:20]
            raise ToolError(
                f'conditions: cannot read {snippet!r}. Strings are double-quoted with \\" and \\\\ escaped inside, '
                'e.g. summary contains "VPN" and status/name != "Closed"'
            )
        op = match.group("op")
        if op == "(":
            depth += 1
        elif op == ")":
            depth -= 1
            if depth < 0:
                raise ToolError("conditions: a ')' closes a parenthesis that was never opened")
        pos = match.end()
    if depth:
        raise ToolError("conditions: a '(' is never closed")
    return expression.strip()


def all_of(*clauses: str | None) -> str | None:
    """The clauses AND-ed, each in its own parentheses (the first, the customer filter, stays first)."""
    present = [c for c in clauses if c]
    if not present:
        return None
    return " and ".join(f"({c})" for c in present)
