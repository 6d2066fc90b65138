"""Stage 1: authenticate the principal.

A bearer token is looked up by its SHA-256 in the control-plane snapshot (no
database round trip). No token means an anonymous principal, which later
stages only admit to tenants that allow anonymous access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msplex.call import Call, Principal
from msplex.errors import Denied

if TYPE_CHECKING:
    from msplex.federation.gateway import Gateway

__all__ = ["run"]

UNAUTHENTICATED = -32010
"""Implementation-defined (-32001 is MCP's request timeout); HTTP says 401 as well."""


async def run(call: Call, gateway: Gateway) -> Call:
    if call.bearer_digest is None:
        return call.learned(principal=Principal(kind="anonymous", tenant_id=None))
    token = gateway.tokens.get(call.bearer_digest)
    if token is None:
        raise Denied("authenticate", UNAUTHENTICATED, "the bearer token is unknown or revoked", http_status=401)
    tenant_id, token_id = token
    return call.learned(principal=Principal(kind="token", tenant_id=tenant_id, token_id=token_id))
