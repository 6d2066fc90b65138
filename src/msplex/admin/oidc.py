"""``/admin/v1/tenants/{tenant}/oidc``: the tenant's own identity provider (``msplex oidc``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.store import OidcProviderRecord
from msplex.store.records import Role

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/oidc", tags=["identity provider"], responses=PROBLEM_RESPONSES)


class OidcIn(Input):
    issuer: str
    audience: str
    jwks_url: str | None = None
    customer_claim: str = "msplex_customer"
    roles_claim: str = "roles"
    role_map: dict[str, Role] = Field(default_factory=dict)
    """Provider role or group -> admin, member or customer."""


class OidcOut(Output):
    issuer: str
    audience: str
    jwks_url: str | None
    customer_claim: str
    roles_claim: str
    role_map: dict[str, str]


def _out(record: OidcProviderRecord) -> OidcOut:
    return OidcOut(
        issuer=record.issuer,
        audience=record.audience,
        jwks_url=record.jwks_url,
        customer_claim=record.customer_claim,
        roles_claim=record.roles_claim,
        role_map=dict(record.role_map),
    )


@router.get("", summary="Show the tenant's identity provider")
async def get_oidc(scope: Admin) -> OidcOut:
    record = await scope.store.get_oidc()
    if record is None:
        raise Problem(404, f"tenant '{scope.tenant.slug}' has no identity provider")
    return _out(record)


@router.put("", summary="Accept tokens from the tenant's identity provider")
async def set_oidc(scope: Admin, body: OidcIn) -> OidcOut:
    record = await scope.store.set_oidc(
        body.issuer,
        body.audience,
        jwks_url=body.jwks_url,
        customer_claim=body.customer_claim,
        roles_claim=body.roles_claim,
        role_map=dict(body.role_map),
    )
    return _out(record)


@router.delete("", status_code=204, summary="Stop accepting the tenant's identity provider's tokens")
async def remove_oidc(scope: Admin) -> Response:
    await scope.store.remove_oidc()
    return Response(status_code=204)
