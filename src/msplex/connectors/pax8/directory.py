"""Pax8 companies and their contacts.

A customer-bound call sees its own company only (the list becomes that one company) and reads or
writes only its own company's contacts; a contact is always addressed under its company's path,
so a foreign contact id under the customer's own company is simply not found.
"""

from __future__ import annotations

from msplex.connectors.framework import JSON, ToolContext, ToolError, ToolSpec, page_result, paged_output
from msplex.connectors.framework.schema import fields, paged_params, params
from msplex.connectors.pax8 import _schemas as s
from msplex.connectors.pax8._api import MAX_SIZE, company_for, get_owned, get_record, list_page, project

__all__ = ["TOOLS"]

_COMPANY = fields(s.COMPANY)
_CONTACT = fields(s.CONTACT)
_CONTACT_KEYS = {"first_name": "firstName", "last_name": "lastName", "email": "email", "phone": "phone"}


async def _list_companies(ctx: ToolContext, args: JSON) -> JSON:
    if ctx.scope.bound:
        own = await get_record(ctx, f"companies/{ctx.scope.vendor_id}", "company")
        size = int(args.get("page_size", 25))
        items = [project(own, _COMPANY)] if int(args.get("page", 1)) == 1 else []
        return page_result(items, page=int(args.get("page", 1)), page_size=size, total=1, has_more=False)
    query = {"status": args.get("status"), "city": args.get("city"), "country": args.get("country")}
    return await list_page(ctx, "companies", args, fields=_COMPANY, params=query, owner="id")


async def _get_company(ctx: ToolContext, args: JSON) -> JSON:
    company = company_for(ctx, args.get("company_id"), "record")
    return project(await get_owned(ctx, f"companies/{company}", f"company {company}", owner="id"), _COMPANY)


async def _list_contacts(ctx: ToolContext, args: JSON) -> JSON:
    company = company_for(ctx, args.get("company_id"), "contacts")
    return await list_page(ctx, f"companies/{company}/contacts", args, fields=_CONTACT)


def _contact_path(ctx: ToolContext, args: JSON) -> str:
    company = company_for(ctx, args.get("company_id"), "contact")
    return f"companies/{company}/contacts/{args['contact_id']}"


async def _get_contact(ctx: ToolContext, args: JSON) -> JSON:
    return project(await get_owned(ctx, _contact_path(ctx, args), f"contact {args['contact_id']}"), _CONTACT)


def _contact_body(args: JSON) -> JSON:
    body: JSON = {vendor: args[arg] for arg, vendor in _CONTACT_KEYS.items() if args.get(arg) not in (None, "")}
    if args.get("types"):
        body["types"] = [{"type": t, "primary": True} for t in args["types"]]
    return body


async def _create_contact(ctx: ToolContext, args: JSON) -> JSON:
    company = company_for(ctx, args.get("company_id"), "contact")
    saved = await ctx.http.post(f"companies/{company}/contacts", json=_contact_body(args))
    ctx.scope.check(saved.get("companyId") if isinstance(saved, dict) else None, "the created contact")
    return project(saved, _CONTACT)


async def _update_contact(ctx: ToolContext, args: JSON) -> JSON:
    """Pax8's PUT replaces the contact: the current record, with only the given fields changed."""
    path = _contact_path(ctx, args)
    current = await get_owned(ctx, path, f"contact {args['contact_id']}")
    changes = _contact_body(args)
    if not changes:
        raise ToolError("nothing to change: give first_name, last_name, email, phone or types")
    keep = ("firstName", "lastName", "email", "phone", "types")
    saved = await ctx.http.put(path, json={**{k: current[k] for k in keep if k in current}, **changes})
    return project(saved, _CONTACT)


async def _delete_contact(ctx: ToolContext, args: JSON) -> JSON:
    path = _contact_path(ctx, args)
    await get_owned(ctx, path, f"contact {args['contact_id']}")
    await ctx.http.delete(path)
    return {"deleted": args["contact_id"]}


_TEXT: JSON = {"type": "string", "minLength": 1, "maxLength": 200}
_TYPES: JSON = {
    "type": "array",
    "items": {"type": "string", "enum": ["Admin", "Billing", "Technical"]},
    "uniqueItems": True,
    "description": "The contact's roles at Pax8 (Admin, Billing, Technical).",
}
_CONTACT_IN = {"first_name": _TEXT, "last_name": _TEXT, "email": {**_TEXT, "format": "email"}, "phone": _TEXT}
_BY_ID = {"company_id": s.COMPANY_ID, "contact_id": s.id_of("contact")}

TOOLS = (
    ToolSpec(
        name="list_companies",
        title="List Pax8 companies",
        description=(
            "The MSP's customer companies in Pax8 (id, name, address, status), by status, city or country. "
            "A customer-bound call sees its own company only. Paged: when has_more is true, call again with "
            "page=next_page."
        ),
        input_schema=paged_params(
            max_size=MAX_SIZE,
            status={"type": "string", "enum": ["Active", "Inactive", "Deleted"]},
            city=_TEXT,
            country={"type": "string", "minLength": 2, "maxLength": 2, "description": "ISO country code."},
        ),
        output_schema=paged_output(s.COMPANY),
        handler=_list_companies,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_company",
        title="Get a Pax8 company",
        description="One Pax8 company by id (a customer-bound call: its own company, company_id may be omitted).",
        input_schema=params(company_id=s.COMPANY_ID),
        output_schema=s.COMPANY,
        handler=_get_company,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="list_contacts",
        title="List a company's Pax8 contacts",
        description="The contacts Pax8 holds for a company (admin, billing, technical), paged.",
        input_schema=paged_params(max_size=MAX_SIZE, company_id=s.COMPANY_ID),
        output_schema=paged_output(s.CONTACT),
        handler=_list_contacts,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="get_contact",
        title="Get a Pax8 contact",
        description="One contact of a Pax8 company by its id.",
        input_schema=params("contact_id", **_BY_ID),
        output_schema=s.CONTACT,
        handler=_get_contact,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="create_contact",
        title="Add a contact to a Pax8 company",
        description=(
            "Add a contact (first name, last name, e-mail required) to a Pax8 company; types say whether Pax8 "
            "treats them as the company's admin, billing or technical contact."
        ),
        input_schema=params("first_name", "last_name", "email", company_id=s.COMPANY_ID, **_CONTACT_IN, types=_TYPES),
        output_schema=s.CONTACT,
        handler=_create_contact,
        read_only=False,
    ),
    ToolSpec(
        name="update_contact",
        title="Update a Pax8 contact",
        description="Change a Pax8 contact's name, e-mail, phone or types (only the fields given change).",
        input_schema=params("contact_id", **_BY_ID, **_CONTACT_IN, types=_TYPES),
        output_schema=s.CONTACT,
        handler=_update_contact,
        read_only=False,
        idempotent=True,
    ),
    ToolSpec(
        name="delete_contact",
        title="Delete a Pax8 contact",
        description="Remove a contact from a Pax8 company (it cannot be undone; needs approval by default).",
        input_schema=params("contact_id", **_BY_ID),
        output_schema={"type": "object", "properties": {"deleted": {"type": "string"}}, "required": ["deleted"]},
        handler=_delete_contact,
        read_only=False,
        destructive=True,
        idempotent=True,
    ),
)
