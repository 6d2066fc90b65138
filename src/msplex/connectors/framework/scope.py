"""Customer scoping inside a vendor: a call bound to a customer reaches only that customer's records.

The call's customer (``Call.customer``) is mapped to its id in this connector's vendor (``msplex
customer map``) before the handler runs; a bound customer with no mapping is refused before any
vendor request. Handlers then:

* ``scope.pin(args.get("client_id"))`` on every read or write that names a customer: returns the
  bound customer's vendor id (a foreign id is refused as "not found"), or the caller's own
  choice for an unbound call;
* ``scope.check(record_owner, "ticket 42")`` on every record they return or are about to change,
  so a record fetched by id (the model may pass a foreign id) is refused unless the customer owns it;
* ``scope.keep(items, owner)`` to drop foreign records from a list the vendor could not filter.

A foreign record is reported exactly like a missing one, so ids of other customers cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from msplex.connectors.framework.errors import ToolError

__all__ = ["Scope"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Scope:
    customer: str | None = None
    """The bound customer's slug; ``None``: the whole tenant (a member or admin)."""
    vendor_id: str | None = None
    """Its id in this vendor (set whenever ``customer`` is)."""
    term: str = "company"

    @property
    def bound(self) -> bool:
        return self.customer is not None

    def owns(self, owner: Any) -> bool:
        return not self.bound or (owner is not None and str(owner) == self.vendor_id)

    def check(self, owner: Any, what: str) -> None:
        """Refuse (as not found) a record another customer owns."""
        if not self.owns(owner):
            raise ToolError(f"{what} not found")

    def pin(self, requested: Any = None) -> str | None:
        """The vendor customer id a request must filter on: the bound one (refusing another), or ``requested``."""
        if not self.bound:
            return None if requested in (None, "") else str(requested)
        if requested not in (None, "") and str(requested) != self.vendor_id:
            raise ToolError(f"{self.term} {requested} not found")
        return self.vendor_id

    def keep(self, items: Iterable[T], owner: Callable[[T], Any]) -> list[T]:
        return [item for item in items if self.owns(owner(item))]
