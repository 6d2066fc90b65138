"""``/admin/v1/tenants/{tenant}/tokens``: a tenant's personal access tokens (``msplex token``).

A token is shown once, in the 201 answer that creates it; only its hash is
stored, and every listing shows its recognisable prefix instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, Field

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.store import TokenRecord
from msplex.store.models import utcnow
from msplex.store.records import Role

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/tokens", tags=["tokens"], responses=PROBLEM_RESPONSES)

State = Literal["active", "expired", "revoked"]
_CENTURY = 100 * 365 * 24 * 3600


class TokenIn(Input):
    name: str | None = None
    role: Role = "member"
    customer: str | None = Field(default=None, description="The customer slug a customer token is bound to.")
    tools: list[str] | None = Field(default=None, description="Globs on public names; narrows the role.")
    expires_in_seconds: int | None = Field(default=None, gt=0, le=_CENTURY)
    expires_at: AwareDatetime | None = None


class TokenOut(Output):
    id: str
    name: str
    prefix: str
    """The token's first characters, as ``token list`` shows them: never the token."""
    role: Role
    customer: str | None
    tools: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: State


class TokenCreated(TokenOut):
    token: str
    """The token itself: shown in this answer only."""


def _state(record: TokenRecord) -> State:
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= utcnow():
        return "expired"
    return "active"


def _fields(record: TokenRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "role": record.role or "admin",
        "customer": record.customer,
        "tools": list(record.tools) if record.tools is not None else None,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
        "state": _state(record),
    }


@router.get("", summary="List the tenant's tokens (never the token, only its prefix)")
async def list_tokens(scope: Admin) -> list[TokenOut]:
    return [TokenOut.model_validate(_fields(t)) for t in await scope.store.list_tokens()]


@router.post("", status_code=201, summary="Create a token; the answer carries it, once")
async def create_token(scope: Admin, body: TokenIn) -> TokenCreated:
    if body.expires_in_seconds is not None and body.expires_at is not None:
        raise Problem(422, "give expires_in_seconds or expires_at, not both", field="expiry")
    expires_at: datetime | None = body.expires_at
    if body.expires_in_seconds is not None:
        expires_at = utcnow() + timedelta(seconds=body.expires_in_seconds)
    plaintext, record = await scope.store.create_token(
        body.name, role=body.role, customer=body.customer, tools=body.tools, expires_at=expires_at
    )
    return TokenCreated.model_validate({**_fields(record), "token": plaintext})


@router.delete("/{token_id}", summary="Revoke a token (by id or prefix); revoking twice keeps the first time")
async def revoke_token(scope: Admin, token_id: str) -> TokenOut:
    revoked = await scope.store.revoke_token(token_id)
    listed = [t for t in await scope.store.list_tokens() if t.id == revoked.id]  # with its customer's slug
    return TokenOut.model_validate(_fields(listed[0] if listed else revoked))
