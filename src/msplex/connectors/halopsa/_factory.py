"""The two shapes most Halo read tools share: a paged, client-scoped list and a get-by-id with an owner check."""

from __future__ import annotations

from collections.abc import Mapping

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec
from msplex.connectors.halopsa import _schemas as s
from msplex.connectors.halopsa._api import Owner, client_of, get_owned, get_record, list_page, project

__all__ = ["ID", "get_tool", "list_tool", "refuse_bound"]

ID: JSON = {"type": "integer", "minimum": 1}


def refuse_bound(ctx: ToolContext, what: str) -> None:
    """For data that belongs to no one customer (the MSP's own): a call bound to a customer may not read it."""
    if ctx.scope.bound:
        raise ToolError(f"{what}: unavailable to a call bound to a customer (it reads the MSP's own data)")


def list_tool(
    name: str,
    *,
    title: str,
    description: str,
    resource: str,
    key: str,
    item: JSON,
    filters: Mapping[str, JSON],
    owner: Owner | None = client_of,
    halo_names: Mapping[str, str] | None = None,
) -> ToolSpec:
    """A paged list. ``filters`` are tool arguments sent as Halo query parameters (renamed by
    ``halo_names``); ``client_id`` among them is pinned to the bound customer. ``owner=None``: the
    records belong to no customer, so a bound call is refused."""
    rename = dict(halo_names or {})
    fields = s.fields(item)

    async def handler(ctx: ToolContext, args: JSON) -> JSON:
        if owner is None:
            refuse_bound(ctx, title)
        params = {rename.get(k, k): args.get(k) for k in filters}
        if "client_id" in filters:
            params[rename.get("client_id", "client_id")] = ctx.scope.pin(args.get("client_id"))
        return await list_page(ctx, resource, key, args, params, owner=owner, fields=fields)

    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_schema=s.paged_params(**filters),
        output_schema=s.paged(item),
        handler=handler,
        read_only=True,
        idempotent=True,
    )


def get_tool(
    name: str,
    *,
    title: str,
    description: str,
    resource: str,
    noun: str,
    item: JSON,
    owner: Owner | None = client_of,
) -> ToolSpec:
    """One record by id, refused (as not found) unless the call's customer owns it (``owner=None``:
    the record belongs to no customer, so a bound call is refused)."""
    fields = s.fields(item)

    async def handler(ctx: ToolContext, args: JSON) -> JSON:
        rid = args["id"]
        if owner is None:
            refuse_bound(ctx, title)
            record = await get_record(ctx, resource, rid, f"{noun} {rid}")
        else:
            record = await get_owned(ctx, resource, rid, f"{noun} {rid}", owner)
        return project(record, fields)

    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_schema=s.params("id", id=ID),
        output_schema=item,
        handler=handler,
        read_only=True,
        idempotent=True,
    )
