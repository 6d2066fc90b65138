"""Stage 4: load the tenant's entitlement snapshot (its plan and subscription).

Read from ``msplex.entitlements.Entitlements``, compiled once per tenant and
control-plane version: no database round trip. A tenant the snapshot does not
know yet (created a moment ago on another replica) is refused until it does.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.entitlements import Entitlements
from msplex.errors import Code, Denied, Stage

__all__ = ["LoadEntitlements"]


class LoadEntitlements:
    name: ClassVar[Stage] = Stage.LOAD_ENTITLEMENTS
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, entitlements: Entitlements) -> None:
        self._entitlements = entitlements

    async def __call__(self, call: Call) -> Call:
        assert call.tenant is not None  # resolve_tenant ran
        entitlement = self._entitlements.of(call.tenant.id)
        if entitlement is None:
            raise Denied(self.name, Code.NOT_ENTITLED, "this tenant's entitlements are not loaded yet; try again")
        return call.learned(entitlement=entitlement)
