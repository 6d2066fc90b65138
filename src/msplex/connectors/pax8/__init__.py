"""The Pax8 connector: companies and contacts, products and live pricing, subscriptions and usage, orders
(listed, previewed as a dry run, placed only with approval), seat changes, cancellations and invoices.

Auth: OAuth 2 client credentials at ``{base}/token`` (``https://api.pax8.com/v1/token``) with a
**JSON** body carrying ``audience: https://api.pax8.com``; tokens last 24 h and are renewed once for
all callers (the vault). The base URL is ``https://api.pax8.com/v1``. A Pax8 *company* is an
MSPlex customer: ``msplex customer map C --connector pax8 --vendor-id UUID`` (or ``customer discover``).
"""

from __future__ import annotations

from msplex.connectors.framework import ClientCredentials, Company, Flag, RateLimit, ToolContext, Vendor, VendorError
from msplex.connectors.pax8 import directory, orders, subscriptions
from msplex.connectors.pax8._api import MAX_SIZE, error_message

__all__ = ["AUDIENCE", "VENDOR"]

AUDIENCE = "https://api.pax8.com"


async def _validate(ctx: ToolContext) -> None:
    """One company: proves the client id and secret, the audience and the partner's read access."""
    try:
        await ctx.http.get("companies", params={"page": 0, "size": 1})
    except VendorError as exc:
        if exc.kind == "not_found":
            raise VendorError(
                "not_found", "Pax8 has no /companies here: --base-url is the API root, https://api.pax8.com/v1",
                status=404,
            ) from None  # fmt: skip
        raise


async def _companies(ctx: ToolContext) -> list[Company]:
    found: list[Company] = []
    page = 0
    while True:
        body = await ctx.http.get("companies", params={"page": page, "size": MAX_SIZE})
        rows = body.get("content") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise VendorError("vendor", "Pax8 answered the company list with something that is not a page")
        found += [Company(str(r["id"]), str(r.get("name", ""))) for r in rows if isinstance(r, dict) and "id" in r]
        info = body.get("page") or body.get("pageInfo") or {}
        if not rows or not isinstance(info, dict) or page + 1 >= int(info.get("totalPages") or 0):
            return found
        page += 1


VENDOR = Vendor(
    kind="pax8",
    title="Pax8",
    credential=ClientCredentials(
        token_url=lambda config: f"{config.base_url.rstrip('/')}/token",
        scope=lambda config: None,
        extra=lambda config: {"audience": config.settings.get("audience") or AUDIENCE},
        body="json",
    ),
    flags=(
        Flag("client_id", "--client-id", "the API credential's client id (Integrations Hub)", env="PAX8_CLIENT_ID"),
        Flag(
            "client_secret",
            "--client-secret",
            "the API credential's client secret",
            secret=True,
            env="PAX8_CLIENT_SECRET",
        ),
        Flag("audience", "--audience", "the token audience", required=False, default=AUDIENCE),
    ),
    tools=(*directory.TOOLS, *orders.TOOLS, *subscriptions.TOOLS),
    validate=_validate,
    # Pax8 documents 429 without a number or headers: a ceiling of our own, and a doubling backoff
    rate=RateLimit(requests=600, per_seconds=60, backoff=1.0, backoff_max=30.0, max_wait=30.0),
    companies=_companies,
    error_message=error_message,
    base_url_help="Pax8 API root, https://api.pax8.com/v1",
    customer_term="company",
)
