"""Stage 10: check the approval requirement.

A call that needs a person's approval (``approval_required``: tool policy's
decision when there is one, else tools annotated ``destructiveHint: true``) is
held as an approval request and answered per protocol era (``msplex.approvals
.replies``): a 2026-07-28 client gets an ``InputRequiredResult`` to retry, a
legacy client that takes elicitation is asked to confirm while the call waits
(bounded), anyone else gets a tool result naming the request. A retry names the
request (its ``requestState``, or ``_meta`` ``msplex/approval``); it passes only
for the principal that asked, the same target and customer and the same
arguments (keyed digest), once the request is approved and before it expires.
It then carries ``approval_id`` and the approved arguments, unsealed from the
store; dispatch spends the approval when a worker is free (``Approvals.admit``).
A reference that is not this caller's is answered like one that does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from msplex.approvals import replies
from msplex.approvals.replies import APPROVAL_META, STATE_PREFIX
from msplex.approvals.service import Approvals
from msplex.call import Call, Target
from msplex.chain.stage import Applies
from msplex.connectors.framework.spec import effects_of
from msplex.errors import Code, Denied, Held, RpcError, Stage
from msplex.store.approvals import ApprovalRecord

__all__ = ["HELD_METHODS", "CheckApproval", "approval_required", "default_approval"]

HELD_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
"""The methods a call can be held on: each can be answered later (MRTR, elicitation or a retry)."""
_RETRY_KEYS = ("requestState", "inputResponses")


def approval_required(call: Call) -> bool:
    """Whether ``call`` must be approved by a person before it is dispatched.

    Tool policy decides when it ran (``call.decision``); until then, and where it set no decision,
    the default applies (``default_approval``)."""
    if call.decision is not None:
        return call.decision.approval
    target = call.target
    if target is None:
        return False
    return default_approval(target, call.params.get("arguments"))


def default_approval(target: Target, arguments: Any) -> bool:
    """The default where no rule decided: tools annotated ``destructiveHint: true``, vendor tools whose
    arguments make a write client-visible or billable (``_meta["msplex/effects"]``), and reveal tools
    (``_meta["msplex/sensitive"]``)."""
    if target.kind != "tool" or target.item is None:
        return False
    annotations = target.item.get("annotations")
    if type(annotations) is dict and annotations.get("destructiveHint") is True:
        return True
    meta = target.item.get("_meta")
    if type(meta) is not dict or target.vendor is None:
        return False
    if meta.get("msplex/sensitive") is True:
        return True
    effects = meta.get("msplex/effects")
    if not effects:
        return False
    return bool(effects_of(effects, arguments if isinstance(arguments, dict) else {}))


def _refused(reason: str) -> Denied:
    return Denied(Stage.CHECK_APPROVAL, Code.APPROVAL, reason)


class CheckApproval:
    name: ClassVar[Stage] = Stage.CHECK_APPROVAL
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, approvals: Approvals | None) -> None:
        self._approvals = approvals

    async def __call__(self, call: Call) -> Call:
        if call.target is None or not approval_required(call):
            return call
        approvals = self._approvals
        principal = call.principal
        assert principal is not None and call.tenant is not None  # authenticate and resolve_tenant ran
        if approvals is None:
            raise _refused(f"'{call.target.public}' needs an approval, and this gateway has no approval store")
        if call.method not in HELD_METHODS:
            raise _refused(f"{call.method} of '{call.target.public}' needs an approval, which it cannot wait for")
        if principal.kind == "anonymous":
            raise _refused(f"'{call.target.public}' needs a person's approval; an anonymous caller cannot ask for one")
        reference = self._reference(approvals, call)
        if reference is None:
            return await self._first(approvals, call, await approvals.hold(call))
        return await self._retry(approvals, call, reference)

    # a new request ---------------------------------------------------------------------------

    async def _first(self, approvals: Approvals, call: Call, record: ApprovalRecord) -> Call:
        if call.era == "legacy" and call.peer.can_request and replies.elicits(call.client_capabilities):
            return await self._confirm(approvals, call, record)
        raise self._pending(approvals, call, record)

    async def _confirm(self, approvals: Approvals, call: Call, record: ApprovalRecord) -> Call:
        """Ask the person to confirm while the call waits for the decision (both bounded by the wait)."""
        assert call.tenant is not None and call.principal is not None
        slug, wait = call.tenant.slug, approvals.wait_seconds
        ask = asyncio.ensure_future(call.peer.request("elicitation/create", replies.confirmation(record, slug, wait)))
        decided = asyncio.ensure_future(approvals.wait(slug, record.id, wait))
        try:
            await asyncio.wait({ask, decided}, return_when=asyncio.FIRST_COMPLETED)
            if not decided.done() and ask.done() and not ask.exception():
                action = replies.action_of(ask.result())
                if action == "decline" and await approvals.withdraw(slug, record.id, call.principal.key):
                    raise Held(self.name, replies.withdrawn_result(record), f"request {record.id} withdrawn")
                if action == "cancel":
                    decided.cancel()
                    raise self._pending(approvals, call, record)
            latest = await decided
        finally:
            ask.cancel()
            decided.cancel()
        return await self._settled(approvals, call, latest or record)

    # a retry that names its request ----------------------------------------------------------

    def _reference(self, approvals: Approvals, call: Call) -> dict[str, Any] | None:
        assert call.tenant is not None
        state = call.params.get("requestState")
        if isinstance(state, str) and state.startswith(STATE_PREFIX):
            opened = approvals.unseal(call.tenant.id, state)
            if opened is None:
                raise RpcError(Code.INVALID_PARAMS, "Invalid or expired requestState")
            return opened
        meta = call.params.get("_meta")
        if isinstance(meta, dict) and APPROVAL_META in meta:
            named = meta[APPROVAL_META]
            if not isinstance(named, str) or not 0 < len(named) <= 64:
                raise RpcError(Code.INVALID_PARAMS, f"_meta '{APPROVAL_META}' must be an approval request id")
            return {"id": named}
        return None

    async def _retry(self, approvals: Approvals, call: Call, reference: dict[str, Any]) -> Call:
        assert call.tenant is not None and call.principal is not None and call.target is not None
        approval_id = str(reference["id"])
        record = await approvals.find(call.tenant.slug, approval_id)
        if record is None or record.requester != call.principal.key:
            raise _refused(f"no approval request {approval_id} for this caller")
        target = call.target
        if (record.kind, record.name, record.instance) != (target.kind, target.public, target.instance):
            raise _refused(f"approval request {approval_id} is for '{record.name}', not '{target.public}'")
        if record.customer_id != (call.customer.id if call.customer is not None else None):
            raise _refused(f"approval request {approval_id} was made for another customer")
        if not approvals.of(call.tenant.slug).matches(record, call.params.get("arguments") or {}):
            raise _refused(
                f"the arguments differ from those of approval request {approval_id}; call again with exactly those, "
                "or without the reference to ask for a new approval"
            )
        if "continue" in reference:  # a later input round of the approved call: dispatch spends the reference
            if record.status != "executed":
                raise _refused(f"approval request {approval_id} has no call in progress")
            return await self._approved(approvals, call, record, keep_state=True)
        if record.status == "pending":
            record = await approvals.wait(call.tenant.slug, approval_id, approvals.wait_seconds) or record
        return await self._settled(approvals, call, record)

    # the decision ----------------------------------------------------------------------------

    async def _settled(self, approvals: Approvals, call: Call, record: ApprovalRecord) -> Call:
        status = record.status
        if status == "approved":
            return await self._approved(approvals, call, record, keep_state=False)
        if status == "pending":
            raise self._pending(approvals, call, record)
        if status == "denied":
            why = f": {record.reason}" if record.reason else ""
            raise _refused(f"approval request {record.id} was denied by {record.decided_by}{why}")
        if status == "expired":
            raise _refused(
                f"approval request {record.id} expired at {record.expires_at:%Y-%m-%dT%H:%M:%SZ}; "
                "call again without the reference to ask for a new approval"
            )
        if status == "withdrawn":
            raise _refused(f"approval request {record.id} was withdrawn")
        raise _refused(
            f"approval request {record.id} was already used (an approved call runs once); "
            "call again without the reference to ask for a new approval"
        )

    async def _approved(self, approvals: Approvals, call: Call, record: ApprovalRecord, *, keep_state: bool) -> Call:
        """The call as approved: the arguments unsealed from the request, no approval reference left in it."""
        assert call.tenant is not None
        _, arguments = await approvals.of(call.tenant.slug).arguments(record.id)
        params = {k: v for k, v in call.params.items() if keep_state or k not in _RETRY_KEYS}
        if call.method != "resources/read":
            params["arguments"] = arguments
        meta = params.get("_meta")
        if isinstance(meta, dict) and APPROVAL_META in meta:
            rest = {k: v for k, v in meta.items() if k != APPROVAL_META}
            if rest:
                params["_meta"] = rest
            else:
                del params["_meta"]
        return call.learned(params=params, approval_id=record.id)

    def _pending(self, approvals: Approvals, call: Call, record: ApprovalRecord) -> Held | Denied:
        """What a client is told while its request waits, in its era (see ``msplex.approvals.replies``)."""
        assert call.tenant is not None
        slug = call.tenant.slug
        reason = f"approval request {record.id} is pending"
        if call.era == "modern":
            state = approvals.seal(call.tenant.id, {"id": record.id})
            return Held(self.name, replies.input_required(record, slug, state), reason)
        if call.method == "tools/call":
            return Held(self.name, replies.pending_result(record, slug), reason)
        denied = _refused(replies.pending_text(record, slug))
        denied.data = {**denied.data, "approval": replies.summary(record)}
        return denied
