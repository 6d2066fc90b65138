"""Stage 3: resolve the one customer the call acts for, if any.

A customer-bound identity (a customer token, an OIDC customer claim) acts for
its own customer only. A member or an admin acts for the whole tenant, or for
one customer it names in the request's ``_meta`` as ``"msplex/customer":
"<customer slug>"``; an anonymous caller cannot name one. A customer is looked
up by the tenant the call is bound to and its slug together, so a slug of
another tenant is answered exactly like one that does not exist. The customer
travels with the call (``Call.customer``) to policy, approval, audit and the
connector, which scopes what it reaches by it.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.directory import Directory
from msplex.errors import Code, Denied, Stage

__all__ = ["CUSTOMER_META", "ResolveCustomer"]

CUSTOMER_META = "msplex/customer"
"""The ``_meta`` key a member or admin names a customer with (its slug)."""


class ResolveCustomer:
    name: ClassVar[Stage] = Stage.RESOLVE_CUSTOMER
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def __call__(self, call: Call) -> Call:
        principal, tenant = call.principal, call.tenant
        assert principal is not None and tenant is not None  # authenticate and resolve_tenant ran
        named = _named(call)
        if principal.customer_id is not None:
            own = self._directory.customer_by_id(principal.customer_id)
            if own is None or own.tenant_id != tenant.id:
                raise Denied(self.name, Code.FORBIDDEN, "this credential's customer no longer exists in this tenant")
            if named is not None and named != own.slug:
                raise Denied(
                    self.name,
                    Code.FORBIDDEN,
                    f"this credential acts for customer '{own.slug}' only; drop _meta '{CUSTOMER_META}' "
                    "or name that customer",
                )
            return call.learned(customer=own)
        if named is None:
            return call
        if principal.kind == "anonymous":
            raise Denied(self.name, Code.FORBIDDEN, "an anonymous caller cannot act for a customer")
        customer = self._directory.customer(tenant.id, named)
        if customer is None:
            raise Denied(
                self.name,
                Code.INVALID_PARAMS,
                f"no customer '{named}' in this tenant; name one of its customers by slug "
                f"(`msplex customer list --tenant {tenant.slug}`)",
            )
        return call.learned(customer=customer)


def _named(call: Call) -> str | None:
    meta = call.params.get("_meta")
    if not isinstance(meta, dict) or CUSTOMER_META not in meta:
        return None
    named = meta[CUSTOMER_META]
    if not isinstance(named, str) or not 0 < len(named) <= 63:
        raise Denied(Stage.RESOLVE_CUSTOMER, Code.INVALID_PARAMS, f"_meta '{CUSTOMER_META}' must be a customer's slug")
    return named
