"""Stage 9: check quota and overage.

The quotas a call meets (``msplex.quota``) are checked and counted in one
atomic step of the shared state, one round trip whatever their number: a hard
quota at its limit refuses the call (saying which quota, and when it resets);
an overage quota past its limit lets it through with ``Call.overage`` set, for
metering. A tenant without quotas costs nothing here.

A retry that names an approval request (stage 10's ``requestState`` or
``_meta`` reference) is not counted again: the call was counted when it was
held, so an approved call counts once. A reference that is not real gains
nothing, since stage 10 refuses it before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from msplex.approvals.replies import APPROVAL_META, STATE_PREFIX
from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.errors import Code, Denied, Stage
from msplex.quota import Quotas, describe, window_end
from msplex.state import SharedState

__all__ = ["CheckQuota"]


def _names_an_approval(call: Call) -> bool:
    state = call.params.get("requestState")
    if isinstance(state, str) and state.startswith(STATE_PREFIX):
        return True
    meta = call.params.get("_meta")
    return isinstance(meta, dict) and APPROVAL_META in meta


class CheckQuota:
    name: ClassVar[Stage] = Stage.CHECK_QUOTA
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, quotas: Callable[[str], Quotas | None], state: SharedState | None) -> None:
        self._quotas = quotas
        self._state = state

    async def __call__(self, call: Call) -> Call:
        if call.target is None:
            return call
        assert call.tenant is not None  # resolve_tenant ran
        quotas = self._quotas(call.tenant.id)
        if not quotas or _names_an_approval(call):
            return call
        limits = quotas.limits(call)
        if not limits:
            return call
        if self._state is None:
            raise Denied(self.name, Code.QUOTA, "this gateway has no shared state to count quotas in")
        admission = await self._state.admit([limit for _, limit in limits])
        if admission.refused is not None:
            quota = limits[admission.refused][0]
            resets = window_end(quota.window, datetime.now(UTC))
            reason = f"quota '{quota.name}' ({describe(quota)}) is used up; it resets at {resets:%Y-%m-%dT%H:%M:%SZ}"
            denied = Denied(self.name, Code.QUOTA, reason)
            denied.data = {**denied.data, "quota": quota.name, "resets": f"{resets:%Y-%m-%dT%H:%M:%SZ}"}
            raise denied
        over = any(
            not limit.hard and count > limit.limit for (_, limit), count in zip(limits, admission.counts, strict=True)
        )
        return call.learned(overage=True) if over else call
