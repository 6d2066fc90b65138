"""One audit record's facts, how a chain outcome becomes them, and how records are chained.

An ``AuditEntry`` holds what the log keeps of a call: who (principal key, audience),
where (tenant, customer), what (method, item name, connector instance, a keyed
digest of the redacted arguments: never the arguments), how far it got (the stage
reached), what was decided (allow, deny, hold; the deciding rule, the approval) and
how it ended (``ok``, ``tool_error``, ``error`` with its JSON-RPC code, ``denied``,
``held``, ``cancelled``) and how long it took. A denial's reason is kept (the
gateway's own words, written for the caller and free of secrets); an upstream's
error message is not (it is the upstream's text), only its code.

Chaining: each tenant has its own chain. A record's ``hash`` is a keyed MAC
(``Keyring.mac``) over the previous record's hash and the record's facts
(``content``), so editing, removing, inserting or reordering a record breaks a
link that only a holder of the deployment's key could mend; the position
(``seq``) is not part of the MAC, the links are (``msplex.audit.verify``). The chain's
head (its last ``seq`` and hash) carries a MAC too, so the tail cannot be cut
and the head set back to an earlier record.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import orjson

from msplex.approvals.redact import redact_arguments
from msplex.errors import Denied, Held, RpcError

if TYPE_CHECKING:
    from msplex.call import Call
    from msplex.chain import Outcome
    from msplex.crypto import Keyring

__all__ = [
    "ARGUMENTS_PURPOSE",
    "CHAIN_PURPOSE",
    "FIELDS",
    "GENESIS",
    "HEAD_PURPOSE",
    "AuditEntry",
    "Decision",
    "content",
    "digest_arguments",
    "entry_of",
    "facts_of",
    "head_bytes",
    "head_mac",
    "link",
    "micros",
]

Decision = Literal["allow", "deny", "hold", "approve"]
OutcomeKind = Literal["ok", "tool_error", "error", "denied", "held", "cancelled"]
GENESIS = "genesis"
"""The ``prev_hash`` of a chain's first record."""
CHAIN_PURPOSE = b"msplex/audit-chain"
HEAD_PURPOSE = b"msplex/audit-head"
ARGUMENTS_PURPOSE = b"msplex/audit-arguments"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX = {"principal": 300, "customer": 63, "name": 500, "connector": 63, "rule": 200, "reason": 500, "request_id": 100}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """The facts of one record, in the order the MAC covers them."""

    tenant_id: str
    """``""``: no tenant could be named (the platform's chain)."""
    at: datetime
    principal: str
    audience: str | None
    customer_id: str | None
    customer: str | None
    method: str
    kind: str | None
    name: str | None
    connector: str | None
    args_digest: str | None
    stage: str
    decision: str
    rule: str | None
    approval_id: str | None
    overage: bool
    outcome: str
    error_code: int | None
    reason: str | None
    latency_us: int
    request_id: str | None

    def __post_init__(self) -> None:
        for key, limit in _MAX.items():  # what the columns hold is what the MAC covers
            value = getattr(self, key)
            if value is not None and len(value) > limit:
                object.__setattr__(self, key, value[: limit - 1] + "…")
        if self.at.tzinfo is None:
            raise ValueError("AuditEntry.at must be aware (UTC)")
        object.__setattr__(self, "at", self.at.astimezone(UTC))


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AuditEntry))
_US = timedelta(microseconds=1)
_FACTS = operator.attrgetter(*FIELDS)  # not astuple: it deep-copies every value
_ITEMS = operator.itemgetter(*FIELDS)


def facts_of(entry: AuditEntry) -> tuple[Any, ...]:
    """The entry's facts in ``FIELDS`` order (one C call: this runs for every record written)."""
    return _FACTS(entry)


def micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (what the MAC covers of a time: no float rounding)."""
    return (moment - _EPOCH) // _US


def content(prev_hash: str, facts: Mapping[Any, Any] | AuditEntry | tuple[Any, ...]) -> bytes:
    """The bytes a record's MAC covers: the previous hash and every fact, in ``FIELDS`` order
    (``facts``: an entry, a stored row's mapping, or ``facts_of`` an entry)."""
    if isinstance(facts, AuditEntry):
        values = _FACTS(facts)
    elif isinstance(facts, tuple):
        values = facts
    else:
        values = _ITEMS(facts)
    return orjson.dumps([prev_hash, values[0], micros(values[1]), *values[2:]])


def link(keyring: Keyring, prev_hash: str, entry: AuditEntry) -> str:
    return keyring.mac(content(prev_hash, entry), purpose=CHAIN_PURPOSE)


def head_bytes(tenant_id: str, seq: int, digest: str) -> bytes:
    """What a chain head's MAC covers: cutting the chain's tail and setting the head back to an earlier
    record (whose hash anyone with the database can read) breaks it."""
    return f"{tenant_id}\x00{seq}\x00{digest}".encode()


def head_mac(keyring: Keyring, tenant_id: str, seq: int, digest: str) -> str:
    return keyring.mac(head_bytes(tenant_id, seq, digest), purpose=HEAD_PURPOSE)


def digest_arguments(keyring: Keyring, arguments: Any, schema: Any = None) -> str | None:
    """A keyed digest of the redacted arguments: equal arguments match, and nobody without the key can
    test a guess of a low-entropy value against it."""
    if not isinstance(arguments, dict):
        return None
    redacted = redact_arguments(arguments, schema)
    return keyring.mac(orjson.dumps(redacted, option=orjson.OPT_SORT_KEYS), purpose=ARGUMENTS_PURPOSE)


def entry_of(outcome: Outcome, keyring: Keyring, tenant_of: Callable[[Call], str | None]) -> AuditEntry:
    """The record of a chain outcome. ``tenant_of`` names the tenant of a call refused before its
    tenant was resolved (by the endpoint it came to), so a tenant sees who knocked."""
    call, error = outcome.call, outcome.error
    tenant_id = call.tenant.id if call.tenant is not None else (tenant_of(call) or "")
    principal = call.principal
    target = call.target
    params = call.params
    kind: str | None
    name: str | None
    connector: str | None
    if target is not None:
        kind, name, connector = target.kind, target.public, target.instance
        schema = (target.item or {}).get("inputSchema")
    else:
        asked = params.get("name", params.get("uri"))
        kind, connector, schema = None, None, None
        name = asked if isinstance(asked, str) else None
    decision: Decision = "allow" if outcome.dispatched else "deny"
    reason: str | None = None
    approval_id = call.approval_id
    code: int | None = None
    if error is None:
        result = outcome.result
        status: OutcomeKind = "tool_error" if isinstance(result, dict) and result.get("isError") is True else "ok"
    elif isinstance(error, Held):
        decision, status, reason = "hold", "held", error.reason
        approval_id = approval_id or error.approval_id
    elif isinstance(error, Denied):
        status, reason, code = "denied", error.reason, error.rpc_code
        held = error.data.get("approval") if isinstance(error.data, dict) else None
        if approval_id is None and isinstance(held, dict) and isinstance(held.get("id"), str):
            approval_id = held["id"]
    elif isinstance(error, RpcError):
        status, code = ("error" if outcome.dispatched else "denied"), error.rpc_code
        reason = None if outcome.dispatched else error.message
    else:
        status = "cancelled"
    customer = call.customer
    decided = call.decision
    rule = decided.rule if decided is not None else None
    if rule is None and isinstance(error, Denied) and isinstance(error.data, dict):
        named = error.data.get("rule")  # a policy denial names its rule (stage 8)
        rule = named if isinstance(named, str) else None
    request_id = call.request_id
    return AuditEntry(
        tenant_id=tenant_id,
        at=outcome.at,
        principal=principal.key if principal is not None else "unauthenticated",
        audience=principal.audience if principal is not None else None,
        customer_id=customer.id if customer is not None else None,
        customer=customer.slug if customer is not None else None,
        method=call.method,
        kind=kind,
        name=name,
        connector=connector,
        args_digest=digest_arguments(keyring, params.get("arguments"), schema),
        stage=str(error.stage) if isinstance(error, (Denied, Held)) else outcome.stage,
        decision=decision,
        rule=rule,
        approval_id=approval_id,
        overage=bool(call.overage),
        outcome=status,
        error_code=code,
        reason=reason,
        latency_us=outcome.latency_us,
        request_id=None if request_id is None else str(request_id),
    )
