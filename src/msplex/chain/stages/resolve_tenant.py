"""Stage 2: bind the call to exactly one tenant.

The tenant comes from the URL (``/mcp/v1/{tenant}``) or, on ``/mcp``, from the
token. A token only ever opens its own tenant; an anonymous caller only a
tenant that allows anonymous access. The binding is made once, here, and
every later lookup is keyed by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msplex.call import Call
from msplex.errors import Denied

if TYPE_CHECKING:
    from msplex.federation.gateway import Gateway

__all__ = ["run"]

FORBIDDEN = -32003


async def run(call: Call, gateway: Gateway) -> Call:
    principal = call.principal
    assert principal is not None  # authenticate ran
    if call.tenant_slug is not None:
        tenant = gateway.tenant_by_slug(call.tenant_slug)
        if tenant is None:
            # Same answer as "not yours", so slugs cannot be enumerated.
            raise Denied("resolve_tenant", FORBIDDEN, "no such tenant for this credential", http_status=403)
        if principal.kind == "anonymous":
            if not tenant.allow_anonymous:
                raise Denied("resolve_tenant", FORBIDDEN, "this tenant requires a bearer token", http_status=401)
        elif principal.tenant_id != tenant.id:
            raise Denied("resolve_tenant", FORBIDDEN, "no such tenant for this credential", http_status=403)
    else:
        if principal.tenant_id is None:
            raise Denied(
                "resolve_tenant",
                FORBIDDEN,
                "a bearer token is required on /mcp (or use /mcp/v1/{tenant})",
                http_status=401,
            )
        tenant = gateway.tenant_by_id(principal.tenant_id)
        if tenant is None:
            raise Denied("resolve_tenant", FORBIDDEN, "the token's tenant no longer exists", http_status=403)
    if call.session_tenant_id is not None and call.session_tenant_id != tenant.id:
        raise Denied("resolve_tenant", FORBIDDEN, "the session belongs to another tenant", http_status=403)
    return call.learned(tenant=tenant)
