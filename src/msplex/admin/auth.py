"""Who may call the admin API, and on which tenant.

The bearer token is resolved by the gateway's own ``Identities`` (a personal
access token from the control-plane snapshot, or an OIDC token verified by the
tenant's or the deployment's provider), exactly as on an MCP endpoint.

* no credential, or one that proves nothing: 401 (``error="invalid_token"``);
* an operator token: everything, on every tenant;
* a tenant's principal: only with the ``admin`` audience (else 403,
  ``error="insufficient_scope"``), and only on its own tenant. Any other tenant's
  path, existing or not, is the same 404 (``problems.not_yours``): nothing tells
  a tenant admin whether another tenant exists. An operator gets the true 404.

Dependencies: ``operator`` for the platform's routes, ``tenant_scope`` for every
``/tenants/{tenant}/...`` route. ``routes()`` reads them to say who may call what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from msplex.admin.problems import Problem, not_yours
from msplex.call import Credential, Principal
from msplex.identity.principals import Unauthenticated
from msplex.store import TenantRecord, TenantStore

if TYPE_CHECKING:
    from msplex.gateway import Gateway
    from msplex.settings import Settings
    from msplex.store import Store

__all__ = ["Admin", "AdminContext", "Caller", "Operator", "TenantScope", "caller", "operator", "tenant_scope"]

_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')
_bearer = HTTPBearer(
    auto_error=False,
    description="A MSPlex personal access token (an operator's, or a tenant admin's) or an OIDC token with the admin "
    "role of the tenant's identity provider.",
)


@dataclass(frozen=True, slots=True)
class AdminContext:
    """What the routes work with: the running gateway (identities, directory), the store, the settings."""

    gateway: Gateway
    store: Store
    settings: Settings


def context(request: Request) -> AdminContext:
    ctx: AdminContext = request.app.state.msplex
    return ctx


Context = Annotated[AdminContext, Depends(context)]


def _challenge(error: str, description: str) -> dict[str, str]:
    quoted = _UNSAFE.sub("'", description)[:400]
    return {"WWW-Authenticate": f'Bearer error="{error}", error_description="{quoted}"'}


def _unauthorized(description: str, error: str = "invalid_token") -> Problem:
    return Problem(401, description, headers=_challenge(error, description))


def _forbidden(description: str) -> Problem:
    return Problem(403, description, headers=_challenge("insufficient_scope", description))


async def caller(
    request: Request,
    ctx: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated principal: an operator, or a tenant principal with the admin audience."""
    request.state.operator = False
    if bearer is None:
        if "authorization" in request.headers:
            raise _unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
        raise _unauthorized("the admin API requires a bearer token: an operator's or a tenant admin's")
    try:
        principal = await ctx.gateway.identities.resolve(Credential(bearer.credentials), None)
    except Unauthenticated as exc:
        raise _unauthorized(exc.description) from None
    if principal.kind == "operator":
        request.state.operator = True
        return principal
    if principal.kind == "anonymous" or principal.tenant_id is None:
        raise _unauthorized("the admin API requires a bearer token: an operator's or a tenant admin's")
    if principal.audience != "admin":
        raise _forbidden(f"the admin API needs the admin role; this credential has the {principal.audience} role")
    return principal


Caller = Annotated[Principal, Depends(caller)]


async def operator(principal: Caller) -> Principal:
    """Only the platform operator (tenants are the platform's, not a tenant's)."""
    if principal.kind != "operator":
        raise _forbidden("only the platform operator may do this; use an operator token")
    return principal


Operator = Annotated[Principal, Depends(operator)]


@dataclass(frozen=True, slots=True)
class TenantScope:
    """The tenant a ``/tenants/{tenant}/...`` request acts on, once the caller is entitled to it."""

    tenant: TenantRecord
    store: TenantStore
    principal: Principal
    context: AdminContext


TenantSlug = Annotated[str, Path(description="The tenant's slug.")]


async def tenant_scope(tenant: TenantSlug, principal: Caller, ctx: Context) -> TenantScope:
    if principal.kind == "operator":
        record = await ctx.store.get_tenant(tenant)  # NotFound: the true 404, for the operator
    else:
        own = ctx.gateway.directory.tenant_by_id(principal.tenant_id or "")
        if own is None or own.slug != tenant:
            raise not_yours()
        record = await ctx.store.get_tenant(tenant)
        if record.id != principal.tenant_id:
            raise not_yours()
    return TenantScope(record, ctx.store.tenant(record.slug), principal, ctx)


Admin = Annotated[TenantScope, Depends(tenant_scope)]
