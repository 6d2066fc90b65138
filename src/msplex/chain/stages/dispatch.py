"""Stage 11, the last: dispatch the cleared call to a worker of its connector instance.

A call with a target runs on a worker of its instance's bulkhead
(``msplex.workers``: bounded concurrency and queue, then a ``busy`` refusal), so
a slow connector instance cannot starve the others; the connector owns the
deadline and the cancellation that reaches the upstream. A call let through by
an approval spends it only once it holds a worker (``Approvals.admit``), so a
busy refusal does not use it up; if the approved call's upstream asks for input,
the retry gets a single-use reference to continue it. Lists are answered from
the tenant's catalogue, filtered to what the caller may see, what tool policy
does not deny outright (``Access.listed``) and what the sieving stages would let
through (``Sieve``: entitlement, readiness) before they are paginated; nothing
else is served.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from msplex import protocol
from msplex.call import Call
from msplex.catalogue.tenant import TenantCatalogue
from msplex.chain.stage import Admits, Applies, Sieve
from msplex.chain.stages.resolve_target import TARGETED
from msplex.errors import Code, RpcError, Stage
from msplex.protocol.jsonrpc import JSON
from msplex.workers import Workers

if TYPE_CHECKING:
    from msplex.approvals import Approvals

__all__ = ["DISPATCHED", "PAGE_SIZE", "Dispatch"]

PAGE_SIZE = 100
DISPATCHED = frozenset({*protocol.LIST_METHODS, *TARGETED})
"""Every MCP method dispatch serves (the lists here, the rest through the target's connector)."""


class Dispatch:
    name: ClassVar[Stage] = Stage.DISPATCH
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(
        self,
        catalogues: Callable[[str], TenantCatalogue | None],
        workers: Workers | None = None,
        approvals: Approvals | None = None,
        page_size: int = PAGE_SIZE,
        sieves: Sequence[Sieve] = (),
    ) -> None:
        self._catalogues = catalogues
        self._workers = workers or Workers()
        self._approvals = approvals
        self._page_size = page_size
        self._sieves = tuple(sieves)

    async def __call__(self, call: Call) -> JSON:
        target = call.target
        if target is not None:
            assert call.tenant is not None  # resolve_tenant ran
            bulkhead = self._workers.of(call.tenant.id, target.instance)
            if not bulkhead.try_enter():
                await bulkhead.enter()
            try:
                if call.approval_id is None:
                    return await target.connector.execute(call)
                return await self._approved(call)
            finally:
                bulkhead.leave()
        method = call.method
        if method in protocol.LIST_METHODS:
            assert call.tenant is not None  # resolve_tenant ran
            tenant = self._catalogues(call.tenant.id)
            if tenant is None:
                return {protocol.LIST_METHODS[method]: []}
            await tenant.settle()
            assert call.viewer is not None  # resolve_tenant ran
            catalogue = tenant.current
            visible = self._listed(
                call, tenant.access.listed(catalogue, call.viewer, call.customer.id if call.customer else None)
            )
            try:
                return catalogue.page(method, call.params.get("cursor"), self._page_size, visible)
            except ValueError:
                raise RpcError(Code.INVALID_PARAMS, "Invalid cursor") from None
        if method == "notifications/roots/list_changed":
            return {}
        raise RpcError(Code.METHOD_NOT_FOUND, f"Method not found: {method}")

    def _listed(self, call: Call, visible: Admits) -> Admits:
        """What a list shows: what the caller may see and every sieving stage would let through."""
        admits = [a for sieve in self._sieves if (a := sieve.admits(call)) is not None]
        if not admits:
            return visible
        return lambda target: visible(target) and all(admit(target) for admit in admits)

    async def _approved(self, call: Call) -> JSON:
        assert call.target is not None
        if self._approvals is None:
            raise RpcError(Code.INTERNAL, "internal error in the gateway")
        call = await self._approvals.admit(call)
        result = await call.target.connector.execute(call)  # type: ignore[union-attr]
        if result.get("resultType") == "input_required":
            return await self._approvals.continued(call, result)
        return result
