"""``/admin/v1/tenants/{tenant}/customers``: an MSP's clients (``msplex customer``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES
from msplex.admin.schemas import Input, Output
from msplex.store import CustomerRecord

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/customers", tags=["customers"], responses=PROBLEM_RESPONSES)


class CustomerIn(Input):
    slug: str
    name: str | None = None


class CustomerOut(Output):
    slug: str
    name: str
    created_at: datetime


def _out(record: CustomerRecord) -> CustomerOut:
    return CustomerOut(slug=record.slug, name=record.name, created_at=record.created_at)


@router.get("", summary="List the tenant's customers")
async def list_customers(scope: Admin) -> list[CustomerOut]:
    return [_out(c) for c in await scope.store.list_customers()]


@router.post("", status_code=201, summary="Create a customer")
async def create_customer(scope: Admin, body: CustomerIn) -> CustomerOut:
    return _out(await scope.store.create_customer(body.slug, body.name))


@router.delete("/{slug}", status_code=204, summary="Remove a customer, with its tokens and entities")
async def remove_customer(scope: Admin, slug: str) -> Response:
    await scope.store.remove_customer(slug)
    return Response(status_code=204)
