"""The HaloPSA connector: tickets, lookups, clients, sites, end users, assets, knowledge base, time,
contracts and invoices, over Halo's REST API (``{base}/api``) with OAuth 2 client credentials.

Auth: ``POST {base}/auth/token?tenant=T`` (form body, ``scope``); ``--token-url`` for a hosted tenant
whose auth server lives elsewhere (``GET {base}/api/authinfo`` names it). Halo's conventions (the paging
quirk, array writes, ownership checks) live in ``_api``; each domain's tools in its own module.
A Halo *client* is an MSPlex customer: ``msplex customer map C --connector halopsa --vendor-id CLIENT_ID``.
"""

from __future__ import annotations

from msplex.connectors.framework import (
    ClientCredentials,
    Company,
    Flag,
    InstanceConfig,
    RateLimit,
    ToolContext,
    Vendor,
    VendorError,
)
from msplex.connectors.halopsa import billing, directory, lookups, tickets
from msplex.connectors.halopsa._api import path

__all__ = ["VENDOR"]

_COMPANY_PAGE = 100
_VALIDATED = (("Tickets", "tickets", "read:tickets"), ("Client", "clients", "read:customers"))


def _root(config: InstanceConfig) -> str:
    base = config.base_url.rstrip("/")
    return base.removesuffix("/api")


def _token_query(config: InstanceConfig) -> dict[str, str]:
    tenant = config.settings.get("tenant_name")
    return {"tenant": tenant} if tenant else {}


async def _validate(ctx: ToolContext) -> None:
    """A token, then one record of tickets and of clients: proves the secret, the tenant and the read scopes."""
    for resource, _key, scope in _VALIDATED:
        try:
            await ctx.http.get(path(ctx, resource), params={"pageinate": "true", "page_size": 1, "page_no": 1})
        except VendorError as exc:
            if exc.kind != "forbidden":
                raise
            raise VendorError(
                "forbidden",
                f"HaloPSA refused to list {resource}: the API application lacks the {scope} scope (or 'all'). "
                "Grant it in Halo (Configuration > Integrations > HaloPSA API > the application's permissions) "
                "or pass a wider --scope.",
                status=403,
            ) from None


async def _companies(ctx: ToolContext) -> list[Company]:
    found: list[Company] = []
    page = 1
    while True:
        query = {"pageinate": "true", "page_size": _COMPANY_PAGE, "page_no": page}
        body = await ctx.http.get(path(ctx, "Client"), params=query)
        rows = body.get("clients") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise VendorError("vendor", "HaloPSA answered the client list without its 'clients' array")
        found += [Company(str(r["id"]), str(r.get("name", ""))) for r in rows if isinstance(r, dict) and "id" in r]
        total = body.get("record_count")
        if not rows or (isinstance(total, int) and page * _COMPANY_PAGE >= total) or len(rows) < _COMPANY_PAGE:
            return found
        page += 1


VENDOR = Vendor(
    kind="halopsa",
    title="HaloPSA",
    credential=ClientCredentials(
        token_url=lambda config: f"{_root(config)}/auth/token",
        scope=lambda config: config.settings.get("scope") or "all",
        query=_token_query,
    ),
    flags=(
        Flag("client_id", "--client-id", "The Halo API application's client id.", env="HALOPSA_CLIENT_ID"),
        Flag(
            "client_secret",
            "--client-secret",
            "The Halo API application's client secret.",
            secret=True,
            env="HALOPSA_CLIENT_SECRET",
        ),
        Flag(
            "tenant_name",
            "--tenant-name",
            "The Halo tenant name (hosted Halo: the token request's 'tenant').",
            required=False,
        ),
        Flag(
            "scope",
            "--scope",
            "Space-separated Halo scopes, e.g. 'read:tickets edit:tickets read:customers'.",
            required=False,
            default="all",
        ),
    ),
    tools=(*tickets.TOOLS, *lookups.TOOLS, *directory.TOOLS, *billing.TOOLS),
    validate=_validate,
    rate=RateLimit(requests=300, per_seconds=300, backoff=5.0, backoff_max=60.0, max_wait=30.0),
    companies=_companies,
    secret_fields=frozenset({"nhdpassword", "portal_password", "password", "otp_secret"}),
    base_url_help="Halo instance root, e.g. https://acme.halopsa.com (the API is under /api)",
    customer_term="client",
)
