"""The contract of one enforcement-chain stage.

A stage is built at assembly with the services it needs (its constructor is
its dependency list) and called with the ``Call``; it returns the call with
new facts (``Call.learned``) or raises ``Denied(stage, code, reason)``. It
never builds a response and never reaches for a service it was not given.
``applies`` declares which calls it clears: every call, or only calls that are
dispatched (the gateway answers ``initialize``, ``server/discover``,
``subscriptions/listen`` and the session-era stream and DELETE itself, after
the ``EVERY_CALL`` stages).
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar, Protocol

from msplex.call import Call
from msplex.errors import Stage as StageName

__all__ = ["Applies", "Stage"]


class Applies(Enum):
    EVERY_CALL = "every call"
    DISPATCHED = "dispatched calls"


class Stage(Protocol):
    name: ClassVar[StageName]
    applies: ClassVar[Applies]

    async def __call__(self, call: Call) -> Call: ...
