"""Hudu's request and response shapes, kept in one place: paths, envelopes, paging, HTML, ownership.

Hudu (msp-apis.md §2): ``/api/v1`` under the instance's address, 1-based ``page`` with ``page_size``
(default 25) and no totals, lists wrapped in a resource key except ``/websites`` and
``/activity_logs`` (bare arrays), single records wrapped in the singular key except websites.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from msplex.connectors.framework import JSON, ToolContext, ToolError, page_result

__all__ = [
    "API_ROOT",
    "SNIPPET",
    "asset",
    "fetch_one",
    "fetch_page",
    "owner",
    "owner_of_resource",
    "path",
    "plain",
    "scoped_page",
    "text_of",
]

API_ROOT = "/api/v1"
SNIPPET = 240
_BARE = frozenset({"websites", "activity_logs"})
_SINGULAR = {
    "companies": "company",
    "asset_layouts": "asset_layout",
    "articles": "article",
    "asset_passwords": "asset_password",
    "procedures": "procedure",
    "assets": "asset",
}


def path(ctx: ToolContext, resource: str) -> str:
    """``resource`` under the API root, whether ``--base-url`` was the instance's address or its API root."""
    base = ctx.config.base_url.rstrip("/")
    return f"{resource}" if base.endswith(API_ROOT) else f"{API_ROOT}/{resource}"


async def fetch_page(ctx: ToolContext, resource: str, params: JSON, *, page: int, page_size: int) -> list[JSON]:
    """One Hudu page of ``resource`` (its envelope removed)."""
    body = await ctx.http.get(path(ctx, resource), params={**params, "page": page, "page_size": page_size})
    items = body if resource in _BARE else (body or {}).get(resource) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ToolError(f"Hudu answered GET {resource} with an unexpected shape")
    return [item for item in items if isinstance(item, dict)]


_SECRET_LABEL = re.compile(
    r"password|passcode|passphrase|secret|\bpin\b|api.?key|token|recovery|private.?key|\botp\b|credential",
    re.IGNORECASE,
)


def asset(record: JSON) -> JSON:
    """An asset whose custom fields labelled like a secret (a layout's Password or confidential field:
    "Local Admin Password", "Wi-Fi key", ...) hold their value as ``secret_value``, which structural
    redaction nulls (``secret_value_redacted: true``) and scrubs from the whole result. Hudu names the
    field only by its label in an asset, so the label decides."""
    fields = []
    for field in record.get("fields") or []:
        if isinstance(field, dict) and "value" in field and _SECRET_LABEL.search(str(field.get("label") or "")):
            field = {**{k: v for k, v in field.items() if k != "value"}, "secret_value": field["value"]}
        fields.append(field)
    return {**record, "fields": fields} if "fields" in record else record


_PLAIN_NAMES = {"passwords_url": "credentials_url", "include_passwords": "includes_credentials"}


def plain(record: JSON) -> JSON:
    """A record with Hudu's non-secret ``password``-named keys renamed, so structural redaction (which
    nulls every key containing ``password``) keeps a link or a flag that hides nothing."""
    return {_PLAIN_NAMES.get(k, k): v for k, v in record.items()}


def owner(record: JSON) -> Any:
    """The company a Hudu record belongs to (``None``: global, which no customer owns)."""
    return record.get("company_id")


async def scoped_page(
    ctx: ToolContext, resource: str, args: JSON, params: JSON, shape: Callable[[JSON], JSON] | None = None
) -> JSON:
    """The tool page ``args`` asks for of a company-owned resource: the customer filter pinned on
    ``company_id``, foreign records dropped, and ``has_more`` when Hudu's page came back full."""
    page, size = args.get("page", 1), args.get("page_size", 25)
    query = {"company_id": ctx.scope.pin(args.get("company_id")), **params}
    raw = await fetch_page(ctx, resource, query, page=page, page_size=size)
    items = ctx.scope.keep(raw, owner)
    return page_result(
        [shape(i) for i in items] if shape else items, page=page, page_size=size, has_more=len(raw) >= size
    )


async def fetch_one(ctx: ToolContext, resource: str, record_id: int, *, sub: str | None = None) -> JSON:
    """One record by id (``sub``: a path under the API root when the record lives below a company)."""
    body = await ctx.http.get(path(ctx, sub or f"{resource}/{record_id}"))
    key = _SINGULAR.get(resource)
    record = body if resource == "websites" else (body or {}).get(key) if isinstance(body, dict) and key else None
    if not isinstance(record, dict):
        raise ToolError(f"Hudu answered GET {resource}/{record_id} with an unexpected shape")
    return record


async def owner_of_resource(ctx: ToolContext, resource_type: str, resource_id: int) -> Any:
    """The company id owning a record named by an activity log's ``resource_type`` and ``resource_id``."""
    if resource_type == "Company":
        return resource_id
    if resource_type == "Asset":
        found = await fetch_page(ctx, "assets", {"id": resource_id}, page=1, page_size=1)
        return found[0].get("company_id") if found else None
    resource = {
        "Article": "articles",
        "AssetPassword": "asset_passwords",
        "Website": "websites",
        "Procedure": "procedures",
    }.get(resource_type)
    if resource is None:
        raise ToolError(
            f"activity logs of {resource_type} records cannot be scoped to a customer; "
            "use Company, Asset, Article, AssetPassword, Website or Procedure"
        )
    return (await fetch_one(ctx, resource, resource_id)).get("company_id")


class _Text(HTMLParser):
    _BREAKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(content: str | None, limit: int | None = None) -> str:
    """Article HTML as plain text (what a model reads; Hudu's HTML costs tokens and hides nothing more)."""
    if not content:
        return ""
    parser = _Text()
    parser.feed(content)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(line for line in lines if line)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"
