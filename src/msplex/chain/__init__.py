"""The enforcement chain: an ordered tuple of stages, then dispatch.

Each stage takes the ``Call`` and either returns it with new facts or raises
``Denied(stage, code, reason)``; nothing reaches an upstream unless every
stage before ``dispatch`` returned. The product's full chain (customer,
entitlements, subscription, readiness, policy and RBAC, quota, approval)
slots in between ``resolve_tenant`` and ``dispatch`` as those stages land;
the order is pinned by a test.

A ``tools/call`` that clears every stage counts as routed (``msplex status``);
recording denials belongs to the audit stage, still to come. Anything
unexpected fails closed as an internal error that carries no detail to the
caller.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from msplex.call import Call
from msplex.chain.stages import authenticate, dispatch, resolve_tenant
from msplex.errors import RpcError

if TYPE_CHECKING:
    from msplex.federation.gateway import Gateway

__all__ = ["STAGES", "clear", "run"]

log = logging.getLogger("msplex.chain")

Stage = Callable[[Call, "Gateway"], Awaitable[Call]]

STAGES: tuple[tuple[str, Stage], ...] = (
    ("authenticate", authenticate.run),
    ("resolve_tenant", resolve_tenant.run),
)
"""Stages in order; ``dispatch`` always follows the last one."""


@contextlib.contextmanager
def _fail_closed(method: str) -> Iterator[None]:
    """Anything but a typed refusal becomes an internal error that tells the caller nothing."""
    try:
        yield
    except RpcError:
        raise
    except Exception:
        log.exception("unexpected failure in the chain for %s", method)
        raise RpcError(-32603, "internal error in the gateway") from None


async def clear(call: Call, gateway: Gateway) -> Call:
    """Run the stages without dispatching: for methods the gateway answers itself
    (``initialize``, ``server/discover``, ``subscriptions/listen``)."""
    with _fail_closed(call.method):
        for _name, stage in STAGES:
            call = await stage(call, gateway)
    return call


async def run(call: Call, gateway: Gateway) -> tuple[Call, dict[str, Any]]:
    """Clear ``call`` through every stage, then dispatch it.

    Returns the call as the stages left it (tenant, principal) and the JSON-RPC result. A
    ``tools/call`` that clears the stages counts as routed, whatever the upstream answers.
    """
    call = await clear(call, gateway)
    if call.method == "tools/call":
        gateway.metrics.calls_routed += 1
    with _fail_closed(call.method):
        return call, await dispatch.run(call, gateway)
