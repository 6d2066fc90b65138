"""The last stage: hand the cleared call to the tenant's federation runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msplex.call import Call

if TYPE_CHECKING:
    from msplex.federation.gateway import Gateway

__all__ = ["run"]


async def run(call: Call, gateway: Gateway) -> dict[str, Any]:
    assert call.tenant is not None  # resolve_tenant ran
    return await call.tenant.handle(call)
