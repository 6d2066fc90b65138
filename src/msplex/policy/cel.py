"""Argument conditions of policy rules: CEL, compiled once, evaluated per call.

CEL (the Common Expression Language) through ``cel-expr-python``, the CEL
project's Python binding of its C++ runtime. Chosen by measurement (see
``docs/policy.md``): about 3 to 4 µs per evaluation here, against about 13 µs
for the Rust-backed ``common-expression-language``, about 80 µs for Cedar
(``cedarpy``, which parses its policy set per request) and 200 to 400 µs for
the pure-Python ``cel-python``. Expressions are type-checked at compile time
against the declared variables, so a typo in a name is refused by ``policy
add``, not discovered on a call.

The variables an expression sees (``VARIABLES``): ``args`` (the call's
arguments; for ``resources/read`` ``{"uri": ...}``), ``name`` (the public
name or URI), ``kind`` (``tool``, ``prompt``, ``resource``), ``audience``,
``customer`` (``{"id": ..., "slug": ...}``, empty strings when the call is
not bound to one), ``principal`` (the caller's stable key) and
``annotations`` (the tool's, ``{}`` for other kinds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cel_expr_python import cel as _cel  # type: ignore[import-untyped]

__all__ = ["VARIABLES", "CelError", "Condition"]

VARIABLES = ("args", "name", "kind", "audience", "customer", "principal", "annotations")
_DYN_MAP = _cel.Type.Map(_cel.Type.STRING, _cel.Type.DYN)
_ENV = _cel.NewEnv(
    variables={
        "args": _DYN_MAP,
        "name": _cel.Type.STRING,
        "kind": _cel.Type.STRING,
        "audience": _cel.Type.STRING,
        "customer": _DYN_MAP,
        "principal": _cel.Type.STRING,
        "annotations": _DYN_MAP,
    }
)


class CelError(ValueError):
    """An expression that does not compile (syntax, an undeclared name) or is not a boolean."""


class Condition:
    """One compiled expression. ``holds`` is ``None`` when evaluation fails (a missing key, a type
    mismatch): the caller decides what an error means for its rule (``msplex.policy``)."""

    __slots__ = ("_expression", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._expression = _ENV.compile(source)
        except RuntimeError as exc:
            raise CelError(_compile_message(str(exc))) from None
        if self._expression.return_type().name().lower() not in ("bool", "dyn"):
            raise CelError(f"the condition must be a boolean, not {self._expression.return_type().name()}")

    def holds(self, variables: Mapping[str, Any]) -> bool | None:
        try:
            value = self._expression.eval(data=variables).value()
        except (RuntimeError, TypeError, ValueError):
            return None
        return value if type(value) is bool else None


def _compile_message(raw: str) -> str:
    """The compiler's message without its status prefix (``INVALID_ARGUMENT: ERROR: <input>:1:5: ...``)."""
    text = raw.removeprefix("INVALID_ARGUMENT: ").removeprefix("ERROR: ").removeprefix("<input>:")
    return text.replace(" [INVALID_ARGUMENT]", "").strip()
