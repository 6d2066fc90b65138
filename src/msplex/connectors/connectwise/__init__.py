"""The ConnectWise PSA (Manage) connector: service tickets, notes and tasks, boards and lookups, companies,
contacts, sites, configurations, time entries, the schedule, agreements, invoices and the knowledge base.

Auth: an API member's keys, ``Basic base64("{company}+{public}:{private}")``, plus the integration's
``clientId`` header (both required by Manage; the vault sends them). The site root is the base URL
(``https://api-na.myconnectwise.net``); the API lives under ``/{codebase}/apis/3.0`` (``--codebase``,
default ``v4_6_release``; ``GET {site}/login/companyinfo/{company}`` names a site's codebase).
A Manage *company* is an MSPlex customer: ``msplex customer map C --connector connectwise --vendor-id ID``.
Manage's conventions (paths, ``Link`` paging, conditions, ownership) live in ``_api`` and ``_conditions``.
"""

from __future__ import annotations

from msplex.connectors.connectwise import directory, finance, tickets, timesheets
from msplex.connectors.connectwise._api import error_message, path
from msplex.connectors.framework import BasicWithClientId, Company, Flag, RateLimit, ToolContext, Vendor, VendorError

__all__ = ["VENDOR"]

_COMPANY_PAGE = 1000


async def _validate(ctx: ToolContext) -> None:
    """One company and one ticket: proves the keys, the client id, the codebase and the member's read rights."""
    for resource in ("company/companies", "service/tickets"):
        try:
            await ctx.http.get(path(ctx, resource), params={"pageSize": 1, "fields": "id"})
        except VendorError as exc:
            if exc.kind == "not_found":
                raise VendorError(
                    "not_found",
                    f"ConnectWise has no {resource} at this site and codebase: check --base-url (the site root, "
                    "e.g. https://api-na.myconnectwise.net) and --codebase (GET {site}/login/companyinfo/{company} "
                    "names it)",
                    status=404,
                ) from None
            if exc.kind == "forbidden":
                raise VendorError(
                    "forbidden",
                    f"ConnectWise refused to list {resource}: give the API member's security role Inquire rights "
                    "on Companies and Service Desk",
                    status=403,
                ) from None
            raise


async def _companies(ctx: ToolContext) -> list[Company]:
    found: list[Company] = []
    page = 1
    while True:
        query = {"pageSize": _COMPANY_PAGE, "page": page, "fields": "id,name", "orderBy": "id asc"}
        response = await ctx.http.send("GET", path(ctx, "company/companies"), params=query)
        rows = response.json()
        if not isinstance(rows, list):
            raise VendorError("vendor", "ConnectWise answered the company list with something that is not a list")
        found += [Company(str(r["id"]), str(r.get("name", ""))) for r in rows if isinstance(r, dict) and "id" in r]
        if "next" not in response.links or not rows:
            return found
        page += 1


VENDOR = Vendor(
    kind="connectwise",
    title="ConnectWise PSA",
    credential=BasicWithClientId(),
    flags=(
        Flag("company_id", "--company-id", "the ConnectWise company id you log in with", env="CONNECTWISE_COMPANY_ID"),
        Flag("public_key", "--public-key", "the API member's public key", env="CONNECTWISE_PUBLIC_KEY"),
        Flag(
            "private_key",
            "--private-key",
            "the API member's private key",
            secret=True,
            env="CONNECTWISE_PRIVATE_KEY",
        ),
        Flag(
            "client_id",
            "--client-id",
            "the integration's clientId (developer.connectwise.com)",
            env="CONNECTWISE_CLIENT_ID",
        ),
        Flag(
            "codebase",
            "--codebase",
            "the site's codebase, e.g. v4_6_release or v2025_1",
            required=False,
            default="v4_6_release",
        ),
    ),
    tools=(*tickets.TOOLS, *directory.TOOLS, *timesheets.TOOLS, *finance.TOOLS),
    validate=_validate,
    # Manage publishes no limit (Cloudflare answers 429 with Retry-After): a ceiling of our own, not theirs
    rate=RateLimit(requests=60, per_seconds=10, backoff=5.0, backoff_max=60.0, max_wait=30.0),
    companies=_companies,
    error_message=error_message,
    base_url_help="the Manage site root, e.g. https://api-na.myconnectwise.net (the API is under /{codebase}/apis/3.0)",
    customer_term="company",
)
