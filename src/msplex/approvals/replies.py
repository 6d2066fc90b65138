"""What a held call's client is told, per protocol era, and the references it retries with.

* 2026-07-28 clients: an ``InputRequiredResult`` with no input requests, only a
  ``requestState`` (the request id sealed with the keyring, bound to the tenant);
  a client retries with it (the SDK does so by itself, with backoff) and each
  retry waits a bounded time for the decision.
* Legacy clients that take form elicitation: an ``elicitation/create`` that
  says what waits and lets the person withdraw it, while the call waits.
* Everyone else: a tool result (``isError``: nothing ran) that names the
  request and says how to retry: the same call with ``_meta`` ``msplex/approval``.

Every reply carries ``_meta["msplex/approval"]``: the id, status and expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from msplex.protocol.jsonrpc import JSON
from msplex.store.approvals import ApprovalRecord

__all__ = [
    "APPROVAL_META",
    "STATE_PREFIX",
    "action_of",
    "confirmation",
    "elicits",
    "input_required",
    "pending_result",
    "pending_text",
    "summary",
    "withdrawn_result",
]

APPROVAL_META = "msplex/approval"
"""The ``_meta`` key: a retry names its approval request with it; replies describe the request under it."""
STATE_PREFIX = "msplex-approval1."


def _when(record: ApprovalRecord) -> str:
    return f"{record.expires_at:%Y-%m-%dT%H:%M:%SZ}"


def summary(record: ApprovalRecord) -> JSON:
    return {"id": record.id, "status": record.status, "expiresAt": _when(record), "name": record.name}


def pending_text(record: ApprovalRecord, tenant_slug: str) -> str:
    name = record.name
    return (
        f"Approval required: '{name}' needs an approver's decision before it runs. Approval request "
        f"{record.id} is pending (it expires at {_when(record)}). An approver of tenant '{tenant_slug}' decides with "
        f"`msplex approvals approve --tenant {tenant_slug} {record.id}` (or deny) or the admin API. Once it is "
        f'approved, call \'{name}\' again with the same arguments and _meta {{"{APPROVAL_META}": "{record.id}"}}; '
        "it runs once."
    )


def input_required(record: ApprovalRecord, tenant_slug: str, state: str) -> JSON:
    """The 2026-07-28 answer while the request is pending: retry with ``state`` (nothing to fill in)."""
    meta = {**summary(record), "message": pending_text(record, tenant_slug)}
    return {"resultType": "input_required", "requestState": state, "_meta": {APPROVAL_META: meta}}


def pending_result(record: ApprovalRecord, tenant_slug: str) -> JSON:
    """The answer to a ``tools/call`` whose client cannot wait: nothing ran, here is how to retry."""
    return {
        "content": [{"type": "text", "text": pending_text(record, tenant_slug)}],
        "isError": True,
        "_meta": {APPROVAL_META: summary(record)},
    }


def withdrawn_result(record: ApprovalRecord) -> JSON:
    text = f"'{record.name}' did not run: you withdrew approval request {record.id}."
    return {
        "content": [{"type": "text", "text": text}],
        "isError": True,
        "_meta": {APPROVAL_META: {**summary(record), "status": "withdrawn"}},
    }


def elicits(capabilities: Mapping[str, Any]) -> bool:
    """Whether a legacy client takes form elicitation (``{}`` in 2025-06-18, ``{"form": {}}`` later)."""
    declared = capabilities.get("elicitation")
    return isinstance(declared, Mapping) and ("form" in declared or "url" not in declared)


def confirmation(record: ApprovalRecord, tenant_slug: str, wait: float) -> JSON:
    """``elicitation/create`` params: what waits, for how long; accept keeps waiting, decline withdraws it."""
    message = (
        f"'{record.name}' needs an approver's decision before it runs (approval request {record.id}, tenant "
        f"'{tenant_slug}'). This call waits up to {wait:g} s for it. Accept to keep waiting; decline to withdraw "
        "the request."
    )
    return {"message": message, "requestedSchema": {"type": "object", "properties": {}}}


def action_of(answer: JSON) -> str | None:
    """The person's answer to the confirmation (``accept``, ``decline``, ``cancel``), ``None`` if none came."""
    result = answer.get("result")
    action = result.get("action") if isinstance(result, dict) else None
    return action if action in ("accept", "decline", "cancel") else None
