"""JSON schemas of the Hudu tools' inputs and outputs.

Item schemas name the fields a model relies on and allow the rest (Hudu adds fields between
versions). Every field that redaction may null (any key containing ``password`` or ``secret``) is
nullable, so a redacted result still validates against its output schema.
"""

from __future__ import annotations

from msplex.connectors.framework import JSON, page_input, paged_output

__all__ = [
    "ACTIVITY",
    "ARTICLE",
    "ARTICLE_SUMMARY",
    "ASSET",
    "COMPANY",
    "COMPANY_ID",
    "LAYOUT",
    "NULLABLE_INT",
    "NULLABLE_STR",
    "PASSWORD",
    "PROCEDURE",
    "WEBSITE",
    "obj",
    "paged",
]

NULLABLE_INT: JSON = {"type": ["integer", "null"]}
NULLABLE_STR: JSON = {"type": ["string", "null"]}
COMPANY_ID: JSON = {
    "type": "integer",
    "minimum": 1,
    "description": "Hudu company id. A caller bound to a customer may only name its own company (or omit it).",
}


def obj(properties: JSON, required: tuple[str, ...] = (), *, closed: bool = True) -> JSON:
    schema: JSON = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def paged(properties: JSON, item: JSON, required: tuple[str, ...] = ()) -> tuple[JSON, JSON]:
    """The input (with ``page``/``page_size``) and output schemas of a list tool."""
    return obj({**properties, **page_input()}, required), paged_output(item)


def _item(properties: JSON) -> JSON:
    return {"type": "object", "properties": {"id": {"type": "integer"}, **properties}, "required": ["id"]}


COMPANY = _item(
    {
        "name": {"type": "string"},
        "nickname": NULLABLE_STR,
        "city": NULLABLE_STR,
        "website": NULLABLE_STR,
        "archived": {"type": "boolean"},
    }
)
ASSET = _item(
    {
        "name": {"type": "string"},
        "company_id": {"type": "integer"},
        "company_name": NULLABLE_STR,
        "asset_layout_id": {"type": "integer"},
        "asset_type": NULLABLE_STR,
        "primary_serial": NULLABLE_STR,
        "archived": {"type": "boolean"},
        "fields": {"type": "array", "items": {"type": "object"}},
    }
)
LAYOUT = _item({"name": {"type": "string"}, "active": {"type": "boolean"}, "fields": {"type": "array"}})
ARTICLE_SUMMARY = _item(
    {
        "name": {"type": "string"},
        "company_id": NULLABLE_INT,
        "draft": {"type": "boolean"},
        "updated_at": NULLABLE_STR,
        "snippet": {"type": "string", "description": "The start of the article as plain text."},
    }
)
ARTICLE = _item(
    {
        "name": {"type": "string"},
        "company_id": NULLABLE_INT,
        "folder_id": NULLABLE_INT,
        "draft": {"type": "boolean"},
        "enable_sharing": {"type": ["boolean", "null"]},
        "share_url": NULLABLE_STR,
        "url": NULLABLE_STR,
        "updated_at": NULLABLE_STR,
        "text": {"type": "string", "description": "The article as plain text."},
        "content": {"type": "string", "description": "The article as Hudu stores it (HTML)."},
    }
)
PASSWORD = _item(
    {
        "name": {"type": "string"},
        "company_id": {"type": "integer"},
        "username": NULLABLE_STR,
        "login_url": NULLABLE_STR,
        "description": NULLABLE_STR,
        "password": {**NULLABLE_STR, "description": "null unless revealed; see password_redacted."},
        "password_redacted": {"type": "boolean"},
        "otp_secret": {**NULLABLE_STR, "description": "null unless revealed; see otp_secret_redacted."},
        "otp_secret_redacted": {"type": "boolean"},
        "folder_name": NULLABLE_STR,
        "linked_type": NULLABLE_STR,
        "linked_id": NULLABLE_INT,
    }
)
WEBSITE = _item(
    {
        "name": {"type": "string"},
        "company_id": {"type": "integer"},
        "status": NULLABLE_STR,
        "monitoring_status": NULLABLE_STR,
        "paused": {"type": ["boolean", "null"]},
    }
)
PROCEDURE = _item(
    {
        "name": {"type": "string"},
        "company_id": NULLABLE_INT,
        "description": NULLABLE_STR,
        "total": {"type": ["integer", "null"]},
        "status": NULLABLE_STR,
    }
)
ACTIVITY = _item(
    {
        "user_email": NULLABLE_STR,
        "resource_type": NULLABLE_STR,
        "resource_id": NULLABLE_INT,
        "action_message": NULLABLE_STR,
        "created_at": NULLABLE_STR,
    }
)
