"""What client streams hear about: a tenant's list changed, or a resource was updated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Event", "Listener"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something a client stream may need to hear about.

    ``kind`` is ``tools``, ``prompts`` or ``resources`` (its list changed) or
    ``updated`` (the resource ``uri``, a public URI, changed).
    """

    tenant_id: str
    kind: str
    uri: str | None = None


Listener = Callable[[Event], None]
