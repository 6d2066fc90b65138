"""Approval requests as the chain and the operators use them: hold, wait, decide, admit once.

``Approvals`` is built at assembly with the store and the shared state. The
store is the source of truth (a restart loses nothing); the shared state
carries decisions to waiting calls on every replica (pub/sub on ``approvals``)
and the single-use references of an approved call's later input rounds. A
waiting call also re-reads its request every ``POLL_SECONDS``, so a decision
made where no shared state reaches (the CLI of an embedded gateway) or a
message lost while a Redis link was down still ends the wait.

``decide`` is the one code path for a decision: the CLI and the admin API both
call it. An approved call is admitted by ``admit`` when dispatch holds a worker
for it, so a busy refusal does not spend the approval: the request is claimed
there by a conditional UPDATE, exactly once across tasks and replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

import orjson

from msplex.approvals.redact import redact_arguments
from msplex.approvals.replies import STATE_PREFIX
from msplex.call import Call
from msplex.crypto import InvalidCiphertext
from msplex.errors import Code, Denied, Stage
from msplex.protocol.jsonrpc import JSON
from msplex.store import NotFound
from msplex.store.approvals import ApprovalRecord, TenantApprovals

if TYPE_CHECKING:
    from msplex.state import SharedState, Subscription
    from msplex.store import Store

__all__ = ["CHANNEL", "POLL_SECONDS", "Approvals", "decide"]

log = logging.getLogger("msplex.approvals")

CHANNEL = "approvals"
POLL_SECONDS = 1.0
_AAD = b"msplex-approval-state\x00"


async def decide(
    store: Store,
    state: SharedState | None,
    tenant_slug: str,
    approval_id: str,
    *,
    approve: bool,
    approver: str,
    reason: str | None = None,
) -> ApprovalRecord:
    """Approve or deny a pending request (never the requester's own) and tell every waiting replica."""
    record = await store.tenant(tenant_slug).approvals.decide(
        approval_id, approve=approve, approver=approver, reason=reason
    )
    log.info("approval request %s of tenant %s %s by %s", record.id, tenant_slug, record.status, approver)
    if state is not None:
        try:
            await state.publish(CHANNEL, {"tenant": record.tenant_id, "id": record.id, "status": record.status})
        except Exception as exc:  # the waiting calls' poll still sees it
            log.warning("could not publish the decision on approval request %s: %s", record.id, type(exc).__name__)
    return record


class Approvals:
    def __init__(self, store: Store, state: SharedState, *, ttl: float, wait: float) -> None:
        self.store = store
        self.state = state
        self.ttl = ttl
        self.wait_seconds = wait
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self.state.subscribe(CHANNEL, self._decided)
        self.state.on_resync(self._wake_all)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        await self._wake_all()

    def of(self, tenant_slug: str) -> TenantApprovals:
        return self.store.tenant(tenant_slug).approvals

    # holding a call -------------------------------------------------------------------------

    async def hold(self, call: Call) -> ApprovalRecord:
        """A new pending request for ``call`` (its target, customer, caller and arguments)."""
        target, tenant, principal = call.target, call.tenant, call.principal
        assert target is not None and tenant is not None and principal is not None
        arguments = _arguments(call)
        record = await self.of(tenant.slug).create(
            kind=target.kind,
            name=target.public,
            instance=target.instance,
            customer_id=call.customer.id if call.customer is not None else None,
            requester=principal.key,
            arguments=arguments,
            redacted=redact_arguments(arguments, (target.item or {}).get("inputSchema")),
            ttl=self.ttl,
        )
        log.info(
            "approval request %s of tenant %s holds %s for %s", record.id, tenant.slug, target.public, principal.key
        )
        return record

    async def find(self, tenant_slug: str, approval_id: str) -> ApprovalRecord | None:
        try:
            return await self.of(tenant_slug).get(approval_id)
        except NotFound:
            return None

    async def wait(self, tenant_slug: str, approval_id: str, timeout: float) -> ApprovalRecord | None:  # noqa: ASYNC109
        """The request once it is no longer pending, or as it is after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        woken = asyncio.Event()
        waiters = self._waiters.setdefault(approval_id, set())
        waiters.add(woken)
        try:
            while True:
                record = await self.find(tenant_slug, approval_id)
                remaining = deadline - loop.time()
                if record is None or record.status != "pending" or remaining <= 0:
                    return record
                woken.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, POLL_SECONDS)):
                        await woken.wait()
        finally:
            waiters.discard(woken)
            if not waiters and self._waiters.get(approval_id) is waiters:
                del self._waiters[approval_id]

    async def withdraw(self, tenant_slug: str, approval_id: str, requester: str) -> bool:
        withdrawn = await self.of(tenant_slug).withdraw(approval_id, requester)
        if withdrawn:
            log.info("approval request %s of tenant %s withdrawn by its requester", approval_id, tenant_slug)
        return withdrawn

    # references a client retries with -------------------------------------------------------

    def seal(self, tenant_id: str, reference: JSON) -> str:
        """A ``requestState`` for ``reference`` that only this tenant's calls can open."""
        return STATE_PREFIX + self.store.keyring.encrypt(orjson.dumps(reference), aad=_AAD + tenant_id.encode())

    def unseal(self, tenant_id: str, state: str) -> JSON | None:
        try:
            opened = orjson.loads(self.store.keyring.decrypt(state[len(STATE_PREFIX) :], aad=_AAD + tenant_id.encode()))
        except (InvalidCiphertext, orjson.JSONDecodeError):
            return None
        return opened if isinstance(opened, dict) and isinstance(opened.get("id"), str) else None

    # dispatch: admitting an approved call, once ---------------------------------------------

    async def admit(self, call: Call) -> Call:
        """Spend the call's approval (claim the request), or its single-use continuation reference."""
        tenant, principal, approval_id = call.tenant, call.principal, call.approval_id
        assert tenant is not None and principal is not None and approval_id is not None
        state = call.params.get("requestState")
        if isinstance(state, str) and state.startswith(STATE_PREFIX):
            reference = self.unseal(tenant.id, state)
            nonce = reference.get("continue") if reference is not None else None
            if not isinstance(nonce, str) or await self.state.take(_continuation(nonce)) != approval_id:
                raise _used(approval_id)
            params = {k: v for k, v in call.params.items() if k != "requestState"}
            if isinstance(inner := reference.get("state") if reference else None, str):
                params["requestState"] = inner
            return call.learned(params=params)
        if not await self.of(tenant.slug).claim(approval_id, principal.key):
            raise _used(approval_id)
        log.info("approval request %s of tenant %s claimed; the call runs", approval_id, tenant.slug)
        return call

    async def continued(self, call: Call, result: JSON) -> JSON:
        """An approved call's upstream asks for input: its retry may continue it, once, with a new reference."""
        assert call.tenant is not None and call.approval_id is not None
        nonce = secrets.token_urlsafe(16)
        await self.state.put(_continuation(nonce), call.approval_id, ttl=self.ttl)
        reference: JSON = {"id": call.approval_id, "continue": nonce}
        if isinstance(inner := result.get("requestState"), str):
            reference["state"] = inner
        return {**result, "requestState": self.seal(call.tenant.id, reference)}

    # decisions reaching waiting calls -------------------------------------------------------

    async def _decided(self, message: Any) -> None:
        if isinstance(message, dict) and isinstance(approval_id := message.get("id"), str):
            for woken in self._waiters.get(approval_id, ()):
                woken.set()

    async def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for woken in waiters:
                woken.set()


def _arguments(call: Call) -> dict[str, Any]:
    """What the approval is for: a tool's or prompt's arguments; a resource read has none (its URI is the name)."""
    arguments = call.params.get("arguments")
    return dict(arguments) if isinstance(arguments, dict) else {}


def _continuation(nonce: str) -> str:
    return f"approval-continue:{nonce}"


def _used(approval_id: str) -> Denied:
    return Denied(
        Stage.CHECK_APPROVAL,
        Code.APPROVAL,
        f"approval request {approval_id} was already used or has expired (an approved call runs once); "
        "call again without the reference to ask for a new approval",
    )
