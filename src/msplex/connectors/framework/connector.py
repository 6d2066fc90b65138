"""A vendor connector instance as the ``Connector`` dispatch executes (``msplex.call``).

Only ``tools/call`` exists for vendor connectors. Tool-level failures (vendor refusals, scoping,
invalid arguments) are ``isError`` results; only a bug in the connector becomes an ``RpcError``,
with a message that names the connector and nothing it was handling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from msplex.call import Call
from msplex.connectors.framework.instance import VendorInstance
from msplex.errors import Code, RpcError
from msplex.protocol.jsonrpc import JSON

__all__ = ["VendorConnector"]

_UNMAPPED = "\x00unmapped"
"""A customer the instance has no vendor id for: ``VendorInstance.scope`` refuses it (fail closed)."""

log = logging.getLogger("msplex.connectors")


class VendorConnector:
    def __init__(self, instance: Callable[[], VendorInstance | None], name: str) -> None:
        self._instance = instance
        self.name = name

    async def execute(self, call: Call) -> JSON:
        target = call.target
        assert target is not None  # resolve_target ran
        if call.method != "tools/call":
            raise RpcError(Code.METHOD_NOT_FOUND, f"connector {self.name!r} serves tools only")
        instance = self._instance()
        if instance is None:
            raise RpcError(Code.NOT_FOUND, f"connector {self.name!r} is no longer configured")
        args = call.params.get("arguments") or {}
        if not isinstance(args, dict):
            raise RpcError(Code.INVALID_PARAMS, "arguments must be an object")
        customer = _customer(call, instance)
        try:
            return await instance.call(target.name, args, customer=customer)
        except RpcError:
            raise
        except Exception as exc:  # a bug: nothing of what it was handling may leave
            log.error("connector %s/%s: %s in %s", instance.tenant, self.name, type(exc).__name__, target.name)
            raise RpcError(Code.INTERNAL, f"connector {self.name!r} failed unexpectedly") from None


def _customer(call: Call, instance: VendorInstance) -> str | None:
    """The slug of the customer the call is bound to: the chain's fact, else the principal's own binding.
    A binding this instance cannot resolve stays a binding (and is refused), never the whole tenant."""
    if call.customer is not None:
        return call.customer.slug
    principal = call.principal
    if principal is None or principal.customer_id is None:
        return None
    return instance.customer_slugs.get(principal.customer_id, _UNMAPPED)
