"""The contract of one enforcement-chain stage.

A stage is built at assembly with the services it needs (its constructor is
its dependency list) and called with the ``Call``; it returns the call with
new facts (``Call.learned``) or raises ``Denied(stage, code, reason)``. It
never builds a response and never reaches for a service it was not given.
``applies`` declares which calls it clears: every call, or only calls that are
dispatched (the gateway answers ``initialize``, ``server/discover``,
``subscriptions/listen`` and the session-era stream and DELETE itself, after
the ``EVERY_CALL`` stages).

A stage whose refusal depends on the item a call is for (the connector's
entitlement, its instance's readiness) is also a ``Sieve``: dispatch filters the
lists with the same predicate, so a list never shows what a call would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import ClassVar, Protocol, runtime_checkable

from msplex.call import Call, Target
from msplex.errors import Stage as StageName

__all__ = ["Admits", "Applies", "Sieve", "Stage"]


class Applies(Enum):
    EVERY_CALL = "every call"
    DISPATCHED = "dispatched calls"


class Stage(Protocol):
    name: ClassVar[StageName]
    applies: ClassVar[Applies]

    async def __call__(self, call: Call) -> Call: ...


Admits = Callable[[Target], bool]
"""Whether a call for this item would pass the stage."""


@runtime_checkable
class Sieve(Protocol):
    def admits(self, call: Call) -> Admits | None:
        """The stage's predicate for ``call``'s lists; ``None``: it admits every item."""
