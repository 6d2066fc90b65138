"""``/admin/v1/tenants/{tenant}/upstreams``: a tenant's upstream MCP servers (``msplex upstream``).

Through the API, HTTP upstreams only: a stdio upstream runs a command on the
gateway host, so only the platform operator registers one, with the CLI on that
host. Upstreams registered here are recorded as the tenant's
(``registered_by="tenant"``). Header values are stored encrypted and never
returned: a listing shows header names only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field, SecretStr

from msplex.admin.auth import Admin
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.store import UpstreamRecord, validation
from msplex.upstream.addresses import PrivateAddress, check_public_url
from msplex.upstream.base import Transport

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}/upstreams", tags=["upstreams"], responses=PROBLEM_RESPONSES)

STDIO_REFUSED = (
    "stdio upstreams run a command on the gateway host, so only the platform operator registers them, "
    "with the CLI on that host: msplex upstream add NAME --tenant SLUG --command 'CMD ARGS'; "
    "through the admin API, register the upstream's Streamable HTTP url instead"
)


class UpstreamIn(Input):
    name: str = Field(description="a-z, 0-9 and '-'; prefixes the upstream's item names (NAME__tool).")
    url: str | None = Field(default=None, description="The upstream's Streamable HTTP endpoint (required).")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Sent with every request to the upstream; stored encrypted, never shown."
    )
    command: Any = Field(
        default=None,
        description="Not accepted here (403): stdio upstreams are registered by the platform operator with the CLI.",
    )


class UpstreamOut(Output):
    name: str
    transport: Transport
    url: str | None
    """``null`` for a stdio upstream (its command line is the operator's business and is not shown)."""
    header_names: list[str]
    prefix: bool
    enabled: bool
    created_at: datetime


def _out(record: UpstreamRecord) -> UpstreamOut:
    return UpstreamOut(
        name=record.name,
        transport=record.transport,
        url=record.url,
        header_names=list(record.header_names),
        prefix=record.prefix,
        enabled=record.enabled,
        created_at=record.created_at,
    )


async def _check_url(url: str, allow_private: bool) -> None:
    """A tenant-registered upstream's URL: well-formed, and (unless the operator allows private ones,
    ``MSPLEX_UPSTREAM_ALLOW_PRIVATE``) resolving to public addresses only. The gateway checks again at
    every connection, so a DNS answer that changes later does not get through either."""
    validation.check_url(url)
    if not allow_private:
        try:
            await check_public_url(url)
        except PrivateAddress as exc:
            raise Problem(422, f"{exc}; register a public URL", field="url") from None


@router.get("", summary="List the tenant's upstreams (header names only, never values)")
async def list_upstreams(scope: Admin) -> list[UpstreamOut]:
    return [_out(u) for u in await scope.store.list_upstreams()]


@router.post("", status_code=201, summary="Register an HTTP upstream (a command is refused: 403)")
async def add_upstream(scope: Admin, body: UpstreamIn) -> UpstreamOut:
    if "command" in body.model_fields_set:
        raise Problem(403, STDIO_REFUSED, field="command")
    if body.url is None:
        raise Problem(422, "give the upstream's url (its Streamable HTTP endpoint)", field="url")
    await _check_url(body.url, scope.context.settings.upstream_allow_private)
    record = await scope.store.add_upstream(
        body.name,
        url=body.url,
        headers={name: value.get_secret_value() for name, value in body.headers.items()},
        registered_by="tenant",
    )
    return _out(record)


@router.delete("/{name}", status_code=204, summary="Remove an upstream")
async def remove_upstream(scope: Admin, name: str) -> Response:
    await scope.store.remove_upstream(name)
    return Response(status_code=204)
