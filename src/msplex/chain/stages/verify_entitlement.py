"""Stage 6: verify that the tenant's plan entitles the call's connector.

A plan names connectors by vendor kind (``Target.vendor``) or, for an upstream
MCP server, by its instance name; ``*`` entitles all. A call to any other
connector is refused with the plan's name and what to do; lists leave its items
out (``admits``). Without a target (a list, a ping) there is nothing to check.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call, Target
from msplex.chain.stage import Admits, Applies
from msplex.errors import Code, Denied, Stage

__all__ = ["VerifyEntitlement"]


class VerifyEntitlement:
    name: ClassVar[Stage] = Stage.VERIFY_ENTITLEMENT
    applies: ClassVar[Applies] = Applies.DISPATCHED

    async def __call__(self, call: Call) -> Call:
        target, entitlement = call.target, call.entitlement
        if target is None or entitlement is None or entitlement.everything or entitlement.entitles(target):
            return call
        assert call.tenant is not None  # resolve_tenant ran
        kind = "vendor connector" if target.vendor is not None else "upstream"
        connector = target.vendor or target.instance
        raise Denied(
            self.name,
            Code.NOT_ENTITLED,
            f"{kind} '{connector}' is not part of plan '{entitlement.plan}' of tenant '{call.tenant.slug}'; "
            f"the gateway's operator can add it (`msplex plan update {entitlement.plan} --connectors ...`) "
            f"or move the tenant to a plan that has it (`msplex subscription set --tenant {call.tenant.slug} "
            "--plan PLAN`)",
        )

    def admits(self, call: Call) -> Admits | None:
        entitlement = call.entitlement
        if entitlement is None or entitlement.everything:
            return None

        def entitled(target: Target) -> bool:
            return entitlement.entitles(target)

        return entitled
