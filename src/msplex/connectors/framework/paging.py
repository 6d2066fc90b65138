"""Paged results that never truncate silently: a page says whether there is more and how to get it.

Every list tool takes ``page`` (1-based, whatever the vendor counts from) and ``page_size`` and
returns ``page_result(...)``: the items, ``has_more``, and when there is more, ``next_page`` and a
``note`` a model can follow literally ("call again with page=3"). A vendor that gives no total
(Hudu) says ``has_more`` when a page came back full: the next page may be empty, never missing.
"""

from __future__ import annotations

from typing import Any

from msplex.connectors.framework.spec import JSON

__all__ = ["PAGE_INPUT", "page_input", "page_result", "paged_output"]

MAX_PAGE_SIZE = 100


def page_input(default_size: int = 25, max_size: int = MAX_PAGE_SIZE) -> dict[str, JSON]:
    """The ``page``/``page_size`` properties of a list tool's input schema."""
    return {
        "page": {"type": "integer", "minimum": 1, "default": 1, "description": "1-based page number."},
        "page_size": {
            "type": "integer",
            "minimum": 1,
            "maximum": max_size,
            "default": default_size,
            "description": f"Results per page (at most {max_size}).",
        },
    }


PAGE_INPUT = page_input()


def paged_output(item: JSON, key: str = "items") -> JSON:
    """The output schema of a list tool whose items follow ``item``."""
    return {
        "type": "object",
        "properties": {
            key: {"type": "array", "items": item},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "has_more": {"type": "boolean"},
            "next_page": {"type": ["integer", "null"]},
            "total": {"type": ["integer", "null"]},
            "note": {"type": "string"},
        },
        "required": [key, "page", "page_size", "has_more"],
    }


def page_result(
    items: list[Any],
    *,
    page: int,
    page_size: int,
    total: int | None = None,
    has_more: bool | None = None,
    key: str = "items",
) -> JSON:
    """One page. ``has_more`` defaults to what ``total`` says, else to "the page came back full"."""
    if has_more is None:
        has_more = page * page_size < total if total is not None else len(items) >= page_size
    out: JSON = {key: items, "page": page, "page_size": page_size, "has_more": has_more}
    if total is not None:
        out["total"] = total
    if has_more:
        out["next_page"] = page + 1
        shown = f" of {total}" if total is not None else ""
        out["note"] = f"More results{shown} exist: call again with page={page + 1} (same other arguments)."
    else:
        out["next_page"] = None
    return out
