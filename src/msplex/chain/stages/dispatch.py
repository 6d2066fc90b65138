"""The last stage: execute the cleared call.

A call with a target goes to its connector; lists are answered from the
tenant's catalogue, filtered to what the caller may see before they are
paginated; nothing else is served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from msplex import protocol
from msplex.call import Call
from msplex.catalogue.tenant import TenantCatalogue
from msplex.chain.stage import Applies
from msplex.chain.stages.resolve_target import TARGETED
from msplex.errors import Code, RpcError, Stage
from msplex.protocol.jsonrpc import JSON

__all__ = ["DISPATCHED", "PAGE_SIZE", "Dispatch"]

PAGE_SIZE = 100
DISPATCHED = frozenset({*protocol.LIST_METHODS, *TARGETED})
"""Every MCP method dispatch serves (the lists here, the rest through the target's connector)."""


class Dispatch:
    name: ClassVar[Stage] = Stage.DISPATCH
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, catalogues: Callable[[str], TenantCatalogue | None], page_size: int = PAGE_SIZE) -> None:
        self._catalogues = catalogues
        self._page_size = page_size

    async def __call__(self, call: Call) -> JSON:
        if call.target is not None:
            return await call.target.connector.execute(call)
        method = call.method
        if method in protocol.LIST_METHODS:
            assert call.tenant is not None  # resolve_tenant ran
            tenant = self._catalogues(call.tenant.id)
            if tenant is None:
                return {protocol.LIST_METHODS[method]: []}
            await tenant.settle()
            assert call.viewer is not None  # resolve_tenant ran
            catalogue = tenant.current
            visible = tenant.access.visible(catalogue, call.viewer)
            try:
                return catalogue.page(method, call.params.get("cursor"), self._page_size, visible)
            except ValueError:
                raise RpcError(Code.INVALID_PARAMS, "Invalid cursor") from None
        if method == "notifications/roots/list_changed":
            return {}
        raise RpcError(Code.METHOD_NOT_FOUND, f"Method not found: {method}")
