"""The NinjaOne connector: organizations, locations and end users, devices (filter, search, details, software,
patches, disks, health), device activities, alerts (list, reset), tickets (boards, list, get, create,
update, comment), and device actions (reboot, service control, patch apply) as approval-gated writes.

Auth: OAuth 2 client credentials ("API Services" application) at ``{base}/ws/oauth/token``, form body,
scopes ``monitoring management`` by default (``--scope``; asking for one the application lacks is a
400, reported at ``msplex connect``); tokens last about an hour and are renewed once for all callers.
The base URL is the tenant's **regional** host (``https://app.ninjarmm.com``, ``eu.``, ``oc.``, ``ca.``,
``us2.``, ``fed.``): never assumed. A NinjaOne *organization* is an MSPlex customer.
"""

from __future__ import annotations

from msplex.connectors.framework import ClientCredentials, Company, Flag, RateLimit, ToolContext, Vendor, VendorError
from msplex.connectors.ninjaone import actions, devices, organizations, tickets
from msplex.connectors.ninjaone._api import error_message

__all__ = ["DEFAULT_SCOPE", "VENDOR"]

DEFAULT_SCOPE = "monitoring management"
_ORG_PAGE = 1000


async def _validate(ctx: ToolContext) -> None:
    """One organization: proves the client, the scopes and the regional host."""
    try:
        await ctx.http.get("v2/organizations", params={"pageSize": 1})
    except VendorError as exc:
        if exc.kind == "not_found":
            raise VendorError(
                "not_found", "NinjaOne has no /v2/organizations here: --base-url is the regional host, e.g. "
                "https://eu.ninjarmm.com", status=404,
            ) from None  # fmt: skip
        raise


async def _companies(ctx: ToolContext) -> list[Company]:
    found: list[Company] = []
    after: int | None = None
    while True:
        rows = await ctx.http.get("v2/organizations", params={"pageSize": _ORG_PAGE, "after": after})
        if not isinstance(rows, list):
            raise VendorError("vendor", "NinjaOne answered the organization list with something that is not a list")
        found += [Company(str(r["id"]), str(r.get("name", ""))) for r in rows if isinstance(r, dict) and "id" in r]
        if len(rows) < _ORG_PAGE:
            return found
        after = int(rows[-1]["id"])


VENDOR = Vendor(
    kind="ninjaone",
    title="NinjaOne",
    credential=ClientCredentials(
        token_url=lambda config: f"{config.base_url.rstrip('/')}/ws/oauth/token",
        scope=lambda config: config.settings.get("scope") or DEFAULT_SCOPE,
    ),
    flags=(
        Flag("client_id", "--client-id", "the API Services application's client id", env="NINJAONE_CLIENT_ID"),
        Flag(
            "client_secret",
            "--client-secret",
            "the application's client secret",
            secret=True,
            env="NINJAONE_CLIENT_SECRET",
        ),
        Flag("scope", "--scope", "OAuth scopes the application has", required=False, default=DEFAULT_SCOPE),
    ),
    tools=(*organizations.TOOLS, *devices.TOOLS, *tickets.TOOLS, *actions.TOOLS),
    validate=_validate,
    # NinjaOne publishes no limit: a ceiling of our own; Retry-After is honoured when sent
    rate=RateLimit(requests=300, per_seconds=60, backoff=1.0, backoff_max=30.0, max_wait=30.0),
    companies=_companies,
    error_message=error_message,
    base_url_help="regional NinjaOne host, e.g. https://app.ninjarmm.com (US) or https://eu.ninjarmm.com",
    customer_term="organization",
)
