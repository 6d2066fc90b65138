"""ConnectWise's ``conditions`` query language: a parser and an evaluator over the fake's records.

Grammar (keywords and field names are case-insensitive, as Manage's are)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := primary ("and" primary)*
    primary    := "(" expr ")" | comparison
    comparison := FIELD op value | FIELD ["not"] "in" "(" value ("," value)* ")"
    op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | ["not"] "like" | ["not"] "contains"
    value      := "string" | number | [2024-01-01T00:00:00Z] | true | false | null

Strings are double-quoted; a backslash escapes the next character (``\\"`` and ``\\\\``). ``like``
takes ``%`` (or ``*``) as its wildcard. String comparisons ignore case (Manage's SQL collation).
A field is a ``/`` path into the record (``company/id``, ``status/name``); a field no record of
the resource has, or a value of the wrong kind, is an error just like malformed syntax:
``ConditionError`` becomes Manage's 400 body in the fake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Condition", "ConditionError", "field_paths", "parse", "resolve"]


class ConditionError(ValueError):
    """The conditions string is malformed or names something the resource does not have."""


Condition = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<unterminated>")
      | (?P<date>\[[^\]]*\])
      | (?P<number>-?\d+(?:\.\d+)?(?![\w/]))
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<word>[A-Za-z_][\w/.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "like", "contains", "in", "true", "false", "null"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    at: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise ConditionError(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos}")
        kind = match.lastgroup
        if kind == "unterminated":
            raise ConditionError(f"unterminated string at position {match.start(kind)}")
        value, start = match.group(kind), match.start(kind)
        if kind == "word" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append(_Tok(kind, value, start))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, known: Callable[[str], bool]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.known = known

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ConditionError(f"unexpected end of conditions (expected {text or kind})")
        if (kind and tok.kind != kind) or (text and tok.text != text):
            raise ConditionError(f"unexpected {tok.text!r} at position {tok.at} (expected {text or kind})")
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == kind and (text is None or tok.text == text)

    def parse(self) -> Condition:
        cond = self.expr()
        if (tok := self.peek()) is not None:
            raise ConditionError(f"unexpected {tok.text!r} at position {tok.at}")
        return cond

    def expr(self) -> Condition:
        parts = [self.and_expr()]
        while self.at("kw", "or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else _any(tuple(parts))

    def and_expr(self) -> Condition:
        parts = [self.primary()]
        while self.at("kw", "and"):
            self.take()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else _all(tuple(parts))

    def primary(self) -> Condition:
        if self.at("op", "("):
            self.take()
            inner = self.expr()
            self.take("op", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        field = self.take("word")
        if not self.known(field.text):
            raise ConditionError(f"unknown field {field.text!r}")
        path = field.text
        negate = False
        if self.at("kw", "not"):
            self.take()
            negate = True
        tok = self.take()
        if tok.kind == "kw" and tok.text in {"like", "contains"}:
            needle = self.value()
            if not isinstance(needle, str):
                raise ConditionError(f"{tok.text} needs a quoted string at position {tok.at}")
            test = _like(needle) if tok.text == "like" else _contains(needle)
        elif tok.kind == "kw" and tok.text == "in":
            self.take("op", "(")
            values = [self.value()]
            while self.at("op", ","):
                self.take()
                values.append(self.value())
            self.take("op", ")")
            test = _member(values)
        elif tok.kind == "op" and tok.text in _COMPARE and not negate:
            test = _compare(tok.text, self.value())
        else:
            raise ConditionError(f"unexpected {tok.text!r} at position {tok.at} (expected an operator)")
        if negate:
            return lambda r: (v := resolve(r, path)) is not None and not test(v)
        return lambda r: test(resolve(r, path))

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "string":
            return re.sub(r"\\(.)", r"\1", tok.text[1:-1])
        if tok.kind == "number":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kind == "date":
            return _date(tok.text[1:-1], tok.at)
        if tok.kind == "kw" and tok.text in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[tok.text]
        raise ConditionError(f"unexpected {tok.text!r} at position {tok.at} (expected a value)")


def _any(parts: tuple[Condition, ...]) -> Condition:
    return lambda r: any(p(r) for p in parts)


def _all(parts: tuple[Condition, ...]) -> Condition:
    return lambda r: all(p(r) for p in parts)


def _date(text: str, at: int) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise ConditionError(f"invalid date [{text}] at position {at}") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _coerce(actual: Any, wanted: Any) -> tuple[Any, Any]:
    """Both sides in one comparable kind, or ``ConditionError`` (Manage refuses such a comparison)."""
    if isinstance(wanted, datetime):
        if isinstance(actual, str):
            return _date(actual, 0), wanted
    elif isinstance(wanted, bool) or isinstance(actual, bool):
        if isinstance(wanted, bool) and isinstance(actual, bool):
            return actual, wanted
    elif isinstance(wanted, int | float):
        if isinstance(actual, int | float):
            return actual, wanted
    elif isinstance(wanted, str) and isinstance(actual, str):
        return actual.casefold(), wanted.casefold()
    raise ConditionError(f"cannot compare {type(actual).__name__} with {wanted!r}")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _compare(op: str, wanted: Any) -> Callable[[Any], bool]:
    def test(actual: Any) -> bool:
        if wanted is None:  # Manage turns "= null" into IS NULL, "!= null" into IS NOT NULL
            if op not in {"=", "!="}:
                raise ConditionError(f"{op} does not apply to null")
            return (actual is None) == (op == "=")
        if actual is None:  # SQL: a comparison with NULL is never true
            return False
        if op not in {"=", "!="} and isinstance(wanted, bool):
            raise ConditionError(f"{op} does not apply to booleans")
        a, b = _coerce(actual, wanted)
        return _COMPARE[op](a, b)

    return test


def _like(pattern: str) -> Callable[[Any], bool]:
    regex = re.compile("".join(".*" if c in "%*" else re.escape(c) for c in pattern), re.IGNORECASE | re.DOTALL)
    return lambda actual: isinstance(actual, str) and regex.fullmatch(actual) is not None


def _contains(needle: str) -> Callable[[Any], bool]:
    folded = needle.casefold()
    return lambda actual: isinstance(actual, str) and folded in actual.casefold()


def _member(values: list[Any]) -> Callable[[Any], bool]:
    tests = [_compare("=", v) for v in values]
    return lambda actual: actual is not None and any(t(actual) for t in tests)


def resolve(record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``/``-separated, case-insensitive keys), ``None`` when any step is missing."""
    node: Any = record
    for step in path.split("/"):
        if not isinstance(node, Mapping):
            return None
        key = step.casefold()
        node = next((v for k, v in node.items() if k.casefold() == key), None)
    return node


def field_paths(records: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Every ``/`` path (case-folded) that some record has: what a condition may name."""
    out: set[str] = set()

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key.casefold()}"
            out.add(path)
            if isinstance(value, Mapping):
                walk(value, path + "/")

    for record in records:
        walk(record, "")
    return frozenset(out)


def parse(text: str, known: frozenset[str] | None = None) -> Condition:
    """Compile ``text``; with ``known`` (from ``field_paths``), a field outside it is a ``ConditionError``."""
    return _Parser(text, (lambda f: True) if known is None else (lambda f: f.casefold() in known)).parse()
