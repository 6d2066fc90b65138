"""Stage 7: verify that the call's connector instance is ready.

Ready means the provider that owns the instance reports it ``ok``
(``Provider.health``): configured, its credentials accepted and its last
health check (a listing, for an upstream MCP server) passed. Anything else is
refused with the provider's error and its fix, or the instance's state; lists
leave out the items of instances that are not ready (``admits``), and a
provider announces a list change when an instance's readiness changes. Generic
over providers: an MSP vendor connector reports through the same ``health``.
Dropping a resource subscription needs no ready instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from msplex.call import Call, Target
from msplex.catalogue.provider import Health
from msplex.catalogue.tenant import TenantCatalogue
from msplex.chain.stage import Admits, Applies
from msplex.errors import Code, Denied, Stage

__all__ = ["VerifyReadiness", "unready"]

_EXEMPT = frozenset({"resources/unsubscribe"})


def unready(instance: str, health: Health | None, tenant: str, vendor: str | None = None) -> str | None:
    """Why connector ``instance`` is not ready and what to do; ``None`` when it is."""
    if health is not None and health.state == "ok":
        return None
    what = f"upstream '{instance}'" if vendor is None else f"{vendor} connector '{instance}'"
    if health is None:
        return f"{what} is not configured in tenant '{tenant}'; see `msplex status`"
    fix = health.fix or "see `msplex status`"
    if health.state == "starting":
        detail = f" (last attempt: {health.error})" if health.error else ""
        return f"{what} has not answered yet{detail}; try again in a moment, or {fix}"
    return f"{what} is not ready: {health.error or 'its last health check failed'}; {fix}"


class VerifyReadiness:
    name: ClassVar[Stage] = Stage.VERIFY_READINESS
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, catalogues: Callable[[str], TenantCatalogue | None]) -> None:
        self._catalogues = catalogues

    async def __call__(self, call: Call) -> Call:
        target = call.target
        if target is None or call.method in _EXEMPT:
            return call
        assert call.tenant is not None  # resolve_tenant ran
        tenant = self._catalogues(call.tenant.id)
        health = tenant.health_of(target.provider, target.instance) if tenant is not None else None
        if health is not None and health.state == "ok":
            return call
        why = unready(target.instance, health, call.tenant.slug, target.vendor)
        assert why is not None
        raise Denied(self.name, Code.NOT_READY, why)

    def admits(self, call: Call) -> Admits | None:
        assert call.tenant is not None  # resolve_tenant ran
        tenant = self._catalogues(call.tenant.id)
        if tenant is None:
            return None
        ready = tenant.ready_instances()
        if ready is None:
            return None

        def is_ready(target: Target) -> bool:
            return (target.provider, target.instance) in ready

        return is_ready
