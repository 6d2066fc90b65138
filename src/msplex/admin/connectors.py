"""``/admin/v1/tenants/{tenant}/connectors``: a tenant's vendor connector instances (``msplex connect``,
``msplex connector``, ``msplex customer map|discover``), through the same service (``msplex.connectors.manage``).

Secret values are write-only: a request may set them, no response returns them (a record names
which secret fields are set). A tenant's base and token URLs must resolve to public addresses unless
the operator allows private ones (``MSPLEX_UPSTREAM_ALLOW_PRIVATE``): the gateway sends credentials
there, so a private address would let a tenant aim them at the gateway's own network.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field, SecretStr

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.connectors.framework.registry import UnknownVendor
from msplex.connectors.manage import ConnectFailed, connect, discover
from msplex.store import validation
from msplex.store.records import ConnectorRecord
from msplex.upstream.addresses import PrivateAddress, check_public_url

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/connectors", tags=["connectors"], responses=PROBLEM_RESPONSES)


class ConnectorIn(Input):
    kind: str = Field(description="The vendor: halopsa, hudu, connectwise, pax8, ninjaone.")
    base_url: str = Field(description="The vendor's instance or API root.")
    token_url: str | None = Field(default=None, description="The token endpoint, when not the vendor's default.")
    settings: dict[str, str] = Field(default_factory=dict, description="Non-secret vendor flags by field name.")
    secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description="Secret vendor flags by field name; sealed in the vault, never returned."
    )
    validate_live: bool = Field(default=True, description="Run the vendor's live check before saving.")
    enable: str = Field(default="none", description="Enable tools now: none, read-only or all.")


class ConnectorOut(Output):
    name: str
    kind: str
    base_url: str
    token_url: str | None
    settings: dict[str, str]
    secret_fields: list[str]
    customers: dict[str, str]
    """Customer slug -> the customer's id in the vendor."""
    tools: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class MappingIn(Input):
    vendor_id: str = Field(description="The customer's id in the vendor (Halo client id, Hudu company id, ...).")


class DiscoverIn(Input):
    apply: bool = Field(default=False, description="Map the unambiguous matches.")


class ProposalOut(Output):
    customer: str
    verdict: str
    vendor_id: str | None
    detail: str


def _out(record: ConnectorRecord, tools: list[str] | None = None) -> ConnectorOut:
    return ConnectorOut(
        name=record.name,
        kind=record.kind,
        base_url=record.base_url,
        token_url=record.token_url,
        settings=dict(record.settings),
        secret_fields=list(record.secret_fields),
        customers=dict(record.customers),
        tools=tools or [],
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


async def _check_public(url: str | None, field: str, allow_private: bool) -> None:
    if url is None:
        return
    validation.check_url(url, field)
    if not allow_private:
        try:
            await check_public_url(url)
        except PrivateAddress as exc:
            raise Problem(422, f"{exc}; use the vendor's public URL", field=field) from None


@router.get("", summary="List the tenant's connector instances (secret field names only, never values)")
async def list_connectors(scope: Admin) -> list[ConnectorOut]:
    return [_out(r) for r in await scope.store.connectors.list()]


@router.get("/{connector}", summary="One connector instance")
async def get_connector(scope: Admin, connector: str) -> ConnectorOut:
    return _out(await scope.store.connectors.get(connector))


@router.put("/{connector}", summary="Connect a vendor, or update an instance (validated live before it is saved)")
async def put_connector(scope: Admin, connector: str, body: ConnectorIn) -> ConnectorOut:
    if body.enable not in ("none", "read-only", "all"):
        raise Problem(422, "enable must be none, read-only or all", field="enable")
    allow_private = scope.context.settings.upstream_allow_private
    await _check_public(body.base_url, "base_url", allow_private)
    await _check_public(body.token_url, "token_url", allow_private)
    try:
        done = await connect(
            scope.context.store,
            scope.tenant.slug,
            body.kind,
            name=connector,
            base_url=body.base_url,
            token_url=body.token_url,
            settings=body.settings,
            secrets={k: v.get_secret_value() for k, v in body.secrets.items()},
            validate=body.validate_live,
            http=scope.context.gateway.vendor_services.http,
        )
    except UnknownVendor as exc:
        raise Problem(422, str(exc), field="kind") from None
    except ConnectFailed as exc:
        raise Problem(422, str(exc)) from None
    for public, read_only in done.tools:
        if body.enable == "all" or (body.enable == "read-only" and read_only):
            await scope.store.set_rule("tool", public, enabled=True)
    return _out(done.record, [public for public, _ in done.tools])


@router.delete("/{connector}", status_code=204, summary="Remove a connector instance and its sealed credentials")
async def remove_connector(scope: Admin, connector: str) -> Response:
    await scope.store.connectors.remove(connector)
    return Response(status_code=204)


@router.put("/{connector}/customers/{customer}", summary="Map a customer to its id in the connector's vendor")
async def map_customer(scope: Admin, connector: str, customer: str, body: MappingIn) -> ConnectorOut:
    return _out(await scope.store.connectors.map_customer(customer, connector, body.vendor_id))


@router.delete("/{connector}/customers/{customer}", status_code=204, summary="Remove a customer's mapping")
async def unmap_customer(scope: Admin, connector: str, customer: str) -> Response:
    await scope.store.connectors.unmap_customer(customer, connector)
    return Response(status_code=204)


@router.post("/{connector}/discover", summary="Propose customers' vendor ids by name (ambiguity refused)")
async def discover_customers(scope: Admin, connector: str, body: DiscoverIn) -> list[ProposalOut]:
    try:
        proposals = await discover(
            scope.context.store,
            scope.tenant.slug,
            connector,
            apply=body.apply,
            http=scope.context.gateway.vendor_services.http,
        )
    except UnknownVendor as exc:
        raise Problem(422, str(exc)) from None
    except ConnectFailed as exc:
        raise Problem(422, str(exc)) from None
    return [
        ProposalOut(customer=p.customer, verdict=p.verdict, vendor_id=p.vendor_id, detail=p.describe())
        for p in proposals
    ]
