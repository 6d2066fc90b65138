"""Stage 5: verify the subscription's status (``msplex.entitlements.refusal``).

``active`` is served, ``trialing`` until its trial ends, ``past_due`` for its
grace period; ``suspended`` and ``cancelled`` are refused, as is a tenant with
no subscription where the deployment requires one. A refusal says why and what
to do. It applies to every method that reaches a connector and to the lists:
a tenant whose calls are all refused is told so, not shown an empty catalogue.
"""

from __future__ import annotations

import time
from typing import ClassVar

from msplex import protocol
from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.chain.stages.resolve_target import TARGETED
from msplex.entitlements import refusal
from msplex.errors import Code, Denied, Stage

__all__ = ["VerifySubscription"]

_CHECKED = frozenset({*TARGETED, *protocol.LIST_METHODS})


class VerifySubscription:
    name: ClassVar[Stage] = Stage.VERIFY_SUBSCRIPTION
    applies: ClassVar[Applies] = Applies.DISPATCHED

    async def __call__(self, call: Call) -> Call:
        entitlement = call.entitlement
        if entitlement is None or entitlement.status == "active":
            return call
        if entitlement.status is None and not entitlement.required:
            return call
        if call.method in _CHECKED and (why := refusal(entitlement, time.time())) is not None:
            raise Denied(self.name, Code.NOT_ENTITLED, why)
        return call
