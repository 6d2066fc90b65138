"""Which records a Hudu list request selects, per resource: its filters, its envelope, its paging quirk.

Filters follow the public clients (msp-apis.md §2): an exact (case-insensitive) match per named
parameter, ``search`` as a substring of a few text fields, ``archived`` (default: live records only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["LISTINGS", "SINGULAR", "Listing"]

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Listing:
    resource: str
    envelope: str | None
    """The key a list is wrapped in; ``None``: a bare array."""
    filters: Callable[[JSON, dict[str, str]], bool]
    honours_page_size: bool = True


def _eq(record: JSON, query: dict[str, str], *names: str) -> bool:
    """Each named query parameter present must equal the record's field (ids as integers, names case-insensitively)."""
    for name in names:
        if name not in query:
            continue
        want, have = query[name], record.get(name)
        if isinstance(have, bool):
            if want.lower() not in ("true", "1") if have else want.lower() in ("true", "1"):
                return False
        elif str(have if have is not None else "").lower() != want.lower():
            return False
    return True


def _search(record: JSON, query: dict[str, str], *fields: str) -> bool:
    term = query.get("search", "").lower()
    return not term or any(term in str(record.get(f) or "").lower() for f in fields)


def _archived(record: JSON, query: dict[str, str]) -> bool:
    wanted = query.get("archived", "false").lower() in ("true", "1")
    return bool(record.get("archived")) == wanted


LISTINGS = {
    "companies": Listing(
        "companies",
        "companies",
        lambda r, q: _eq(r, q, "name", "slug", "id_in_integration", "id_number") and _search(r, q, "name", "nickname"),
    ),
    "assets": Listing(
        "assets",
        "assets",
        lambda r, q: (
            _eq(r, q, "id", "company_id", "asset_layout_id", "name", "primary_serial", "slug")
            and _search(r, q, "name", "primary_serial")
            and _archived(r, q)
        ),
    ),
    "asset_layouts": Listing("asset_layouts", "asset_layouts", lambda r, q: _eq(r, q, "name", "slug"), False),
    "articles": Listing(
        "articles",
        "articles",
        lambda r, q: _eq(r, q, "name", "company_id", "draft", "slug") and _search(r, q, "name", "content"),
    ),
    "asset_passwords": Listing(
        "asset_passwords",
        "asset_passwords",
        lambda r, q: _eq(r, q, "company_id", "name", "slug") and _search(r, q, "name", "username", "description"),
    ),
    "websites": Listing("websites", None, lambda r, q: _eq(r, q, "name", "slug") and _search(r, q, "name")),
    "procedures": Listing("procedures", "procedures", lambda r, q: _eq(r, q, "name", "company_id", "slug")),
    "activity_logs": Listing(
        "activity_logs",
        None,
        lambda r, q: (
            _eq(r, q, "user_id", "user_email", "resource_id", "resource_type", "action_message")
            and (not q.get("start_date") or str(r["created_at"]) >= q["start_date"])
        ),
    ),
}
SINGULAR = {
    "companies": "company",
    "asset_layouts": "asset_layout",
    "articles": "article",
    "asset_passwords": "asset_password",
    "procedures": "procedure",
    "websites": None,
}
