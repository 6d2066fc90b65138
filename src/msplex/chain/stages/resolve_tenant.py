"""Stage 2: bind the call to exactly one tenant.

The tenant comes from the URL (``/mcp/v1/{tenant}``) or, on ``/mcp``, from the
token. A token only ever opens its own tenant; an anonymous caller only a
tenant that allows anonymous access. The binding is made once, here, and
every later lookup is keyed by it.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.directory import Directory
from msplex.errors import Code, Denied, Stage

__all__ = ["ResolveTenant"]


class ResolveTenant:
    name: ClassVar[Stage] = Stage.RESOLVE_TENANT
    applies: ClassVar[Applies] = Applies.EVERY_CALL

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def __call__(self, call: Call) -> Call:
        principal = call.principal
        assert principal is not None  # authenticate ran
        if call.tenant_slug is not None:
            tenant = self._directory.tenant_by_slug(call.tenant_slug)
            if tenant is None:
                # Same answer as "not yours", so slugs cannot be enumerated.
                raise Denied(self.name, Code.FORBIDDEN, "no such tenant for this credential")
            if principal.kind == "anonymous":
                if not tenant.allow_anonymous:
                    raise Denied(self.name, Code.UNAUTHENTICATED, "this tenant requires a bearer token")
            elif principal.tenant_id != tenant.id:
                raise Denied(self.name, Code.FORBIDDEN, "no such tenant for this credential")
        else:
            if principal.tenant_id is None:
                raise Denied(
                    self.name, Code.UNAUTHENTICATED, "a bearer token is required on /mcp (or use /mcp/v1/{tenant})"
                )
            tenant = self._directory.tenant_by_id(principal.tenant_id)
            if tenant is None:
                raise Denied(self.name, Code.FORBIDDEN, "the token's tenant no longer exists")
        if call.session is not None and call.session.tenant_id != tenant.id:
            raise Denied(self.name, Code.FORBIDDEN, "the session belongs to another tenant")
        return call.learned(tenant=tenant)
