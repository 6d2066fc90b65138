"""The Hudu connector: companies, assets and layouts, articles, passwords (redacted), websites,
procedures, activity logs and a one-call company context, on the connector framework.

Hudu facts it relies on (msp-apis.md §2): an ``x-api-key`` header, ``/api/v1`` under the instance's
address, 1-based pages of 25 without totals, Rack::Attack 429s ("Retry later", no ``Retry-After``,
windows reported to reset on 5-minute boundaries), ``{error}``/``{errors: []}`` bodies. A customer
maps to a Hudu company id; see each module for how its tools scope to it.
"""

from __future__ import annotations

from msplex.connectors.framework import (
    ApiKeyHeader,
    Company,
    Flag,
    RateLimit,
    ToolContext,
    ToolError,
    Vendor,
    VendorError,
)
from msplex.connectors.hudu import context, inventory, knowledge, passwords
from msplex.connectors.hudu._api import fetch_page

__all__ = ["VENDOR"]

_SCAN = 100


async def _validate(ctx: ToolContext) -> None:
    """One cheap call that needs a valid key (``/api_info`` may not)."""
    try:
        await fetch_page(ctx, "companies", {}, page=1, page_size=1)
    except VendorError:
        raise
    except ToolError:
        raise VendorError(
            "vendor", f"{ctx.config.base_url} does not answer like Hudu's API; check --base-url"
        ) from None


async def _companies(ctx: ToolContext) -> list[Company]:
    found: list[Company] = []
    page = 1
    while True:
        batch = await fetch_page(ctx, "companies", {}, page=page, page_size=_SCAN)
        found += [Company(str(c["id"]), str(c.get("name") or "")) for c in batch if "id" in c]
        if len(batch) < _SCAN:
            return found
        page += 1


VENDOR = Vendor(
    kind="hudu",
    title="Hudu",
    credential=ApiKeyHeader(header="x-api-key"),
    flags=(
        Flag(
            "api_key",
            "--api-key",
            "a Hudu API key (Admin > API in Hudu; it acts with its user's role)",
            secret=True,
            env="HUDU_API_KEY",
        ),
    ),
    tools=(*inventory.TOOLS, *knowledge.TOOLS, *passwords.TOOLS, *context.TOOLS),
    validate=_validate,
    companies=_companies,
    rate=RateLimit(requests=300, per_seconds=60, backoff=2.0, backoff_max=30.0, max_wait=30.0, retries=4),
    secret_fields=frozenset({"password", "otp_secret"}),
    base_url_help="Hudu instance's address, e.g. https://acme.huducloud.com (its API root /api/v1 also works)",
    customer_term="company",
)
