"""Hudu asset passwords: listed and read redacted; revealed only by a separate, approval-gated tool.

Hudu returns ``password`` and ``otp_secret`` in plaintext on list and get alike (msp-apis.md §2).
The framework redacts every result of the list and get tools structurally (``password: null``,
``password_redacted: true``) and scrubs the values from all text. ``asset_password_reveal`` is the
one tool whose result is not redacted: it is listed as sensitive (off until enabled), and it is
annotated ``destructiveHint: true`` so the default policy holds it for a person's approval; that is
honest in effect, since a revealed secret cannot be un-revealed and Hudu records the view.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from msplex.connectors.framework import JSON, ToolContext, ToolSpec
from msplex.connectors.hudu._api import fetch_one, fetch_page, scoped_page
from msplex.connectors.hudu._schemas import COMPANY_ID, NULLABLE_STR, PASSWORD, obj, paged

__all__ = ["TOOLS", "secret_values", "shape"]

_SCAN = 100


_RENAMED = {
    "password_folder_id": "folder_id",
    "password_folder_name": "folder_name",
    "passwordable_type": "linked_type",
    "passwordable_id": "linked_id",
    "password_type": "kind",
}


def shape(record: JSON) -> JSON:
    """A password entry with its metadata under names redaction leaves alone (the framework nulls every
    key containing ``password``: a folder's name is not a secret); ``password``/``otp_secret`` stay."""
    return {_RENAMED.get(k, k): v for k, v in record.items()}


async def asset_passwords_list(ctx: ToolContext, args: JSON) -> JSON:
    return await scoped_page(ctx, "asset_passwords", args, {"search": args.get("search")}, shape)


async def secret_values(ctx: ToolContext, company_ids: Iterable[Any]) -> list[str]:
    """Every password and OTP secret stored for these companies: what free text about them (an article a
    technician pasted a password into) is scrubbed of. One Hudu request per 100 entries of each company."""
    values: list[str] = []
    for cid in sorted({int(c) for c in company_ids if c is not None}):
        page = 1
        while True:
            batch = await fetch_page(ctx, "asset_passwords", {"company_id": cid}, page=page, page_size=_SCAN)
            values += [str(v) for r in batch for v in (r.get("password"), r.get("otp_secret")) if v]
            if len(batch) < _SCAN:
                break
            page += 1
    return values


async def _owned(ctx: ToolContext, password_id: int) -> JSON:
    record = await fetch_one(ctx, "asset_passwords", password_id)
    ctx.scope.check(record.get("company_id"), f"asset password {password_id}")
    return record


async def asset_password_get(ctx: ToolContext, args: JSON) -> JSON:
    return shape(await _owned(ctx, args["password_id"]))


async def asset_password_reveal(ctx: ToolContext, args: JSON) -> JSON:
    record = await _owned(ctx, args["password_id"])
    out = {k: record.get(k) for k in ("id", "name", "company_id", "username", "login_url")}
    if args.get("field", "password") in ("password", "both"):
        out["password"] = record.get("password")
    if args.get("field", "password") in ("otp_secret", "both"):
        out["otp_secret"] = record.get("otp_secret")
    return out


_LIST_IN, _LIST_OUT = paged(
    {"company_id": COMPANY_ID, "search": {"type": "string", "description": "Part of the name or username."}},
    PASSWORD,
)
_ID = {"type": "integer", "minimum": 1}

TOOLS = (
    ToolSpec(
        name="asset_passwords_list",
        title="List Hudu passwords (redacted)",
        description="List stored credentials (name, username, login URL), optionally for one company. The secret "
        "values are never included: password and otp_secret are null with password_redacted/otp_secret_redacted "
        "true. Paged (1-based): when has_more is true, call again with page=next_page.",
        input_schema=_LIST_IN,
        output_schema=_LIST_OUT,
        handler=asset_passwords_list,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="asset_password_get",
        title="Get a Hudu password entry (redacted)",
        description="One stored credential by id, without its secret values (see asset_passwords_list).",
        input_schema=obj({"password_id": _ID}, ("password_id",)),
        output_schema=PASSWORD,
        handler=asset_password_get,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        name="asset_password_reveal",
        title="Reveal a Hudu password",
        description="Reveal the secret value of one stored credential (password, otp_secret or both). Needs a "
        "person's approval; use it only when the task cannot be done without the secret itself.",
        input_schema=obj(
            {"password_id": _ID, "field": {"enum": ["password", "otp_secret", "both"], "default": "password"}},
            ("password_id",),
        ),
        output_schema={
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "company_id": {"type": "integer"},
                "username": NULLABLE_STR,
                "login_url": NULLABLE_STR,
                "password": NULLABLE_STR,
                "otp_secret": NULLABLE_STR,
            },
            "required": ["id"],
        },
        handler=asset_password_reveal,
        read_only=False,
        destructive=True,
        idempotent=True,
        reveals_secrets=True,
    ),
)
