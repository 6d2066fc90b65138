"""Stage 2: bind the call to exactly one tenant (and, on an entity endpoint, to that entity).

The tenant comes from the URL (``/mcp/v1/{tenant}``), from the entity the URL names
(``/mcp/entities/{slug}``) or, on ``/mcp``, from the credential. A credential only
ever opens its own tenant; an anonymous caller only an endpoint that admits
anonymous callers; a customer-bound entity only that customer's identities.
Nothing here tells a prober whether a slug exists: a missing endpoint and one
that is not theirs get the same answer. The binding is made once, here, and
every later lookup is keyed by it. The call leaves with its ``Viewer``.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call, Principal, Viewer
from msplex.chain.stage import Applies
from msplex.directory import Directory
from msplex.errors import Code, Denied, Stage
from msplex.store.records import EntityRecord, TenantRecord

__all__ = ["ResolveTenant"]

_NEEDS_TOKEN = "this endpoint requires a bearer token"
_NOT_YOURS = "no such endpoint for this credential"


class ResolveTenant:
    name: ClassVar[Stage] = Stage.RESOLVE_TENANT
    applies: ClassVar[Applies] = Applies.EVERY_CALL

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def __call__(self, call: Call) -> Call:
        principal = call.principal
        assert principal is not None  # authenticate ran
        if principal.kind == "operator":
            raise Denied(
                self.name,
                Code.FORBIDDEN,
                "an operator token opens the admin API, not MCP endpoints; use a tenant's token",
                challenge="insufficient_scope",
            )
        entity: EntityRecord | None = None
        tenant: TenantRecord | None
        if call.entity_slug is not None:
            entity = self._directory.entity(call.entity_slug)
            tenant = self._directory.tenant_by_id(entity.tenant_id) if entity is not None else None
            anonymous_ok = entity is not None and entity.allow_anonymous
        elif call.tenant_slug is not None:
            tenant = self._directory.tenant_by_slug(call.tenant_slug)
            anonymous_ok = tenant is not None and tenant.allow_anonymous
        else:
            if principal.tenant_id is None:
                raise Denied(
                    self.name, Code.UNAUTHENTICATED, "a bearer token is required on /mcp (or use /mcp/v1/TENANT)"
                )
            tenant = self._directory.tenant_by_id(principal.tenant_id)
            anonymous_ok = False
        if principal.kind == "anonymous":
            if tenant is None or not anonymous_ok:
                raise Denied(self.name, Code.UNAUTHENTICATED, _NEEDS_TOKEN)
        elif tenant is None or principal.tenant_id != tenant.id:
            raise Denied(self.name, Code.FORBIDDEN, _NOT_YOURS)
        if entity is not None and entity.customer_id is not None and not _bound_to(principal, entity.customer_id):
            # A customer's entity does not exist for anyone else, the tenant's own members included.
            raise Denied(self.name, Code.FORBIDDEN, _NOT_YOURS)
        if call.session is not None and call.session.tenant_id != tenant.id:
            raise Denied(self.name, Code.FORBIDDEN, "the session belongs to another tenant")
        selection = entity.tools if entity is not None else None
        viewer = Viewer(principal.audience, principal.tools, selection)
        return call.learned(tenant=tenant, entity=entity, viewer=viewer)


def _bound_to(principal: Principal, customer_id: str) -> bool:
    return principal.audience == "customer" and principal.customer_id == customer_id
