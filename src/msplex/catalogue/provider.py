"""The provider contract: one family of catalogue items (upstream MCP servers today).

A provider yields ``Source``s (one per connector instance, in its order), owns
how and when their listings are refreshed, and keeps each instance's health.
When a listing changes it tells its tenant's catalogue, which merges every
provider and announces what changed. Built-in MSP connectors, skills,
background-operation and control-plane tools become further providers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from msplex.catalogue.listing import Source

__all__ = ["Health", "HealthState", "Provider", "Publish"]

HealthState = Literal["starting", "ok", "unhealthy"]
Publish = Literal["everywhere", "here", "silent"]
"""Who hears of a change: every replica (the change was seen only here), this replica (every replica
applies the same control-plane change itself), or nobody (another replica already announced it)."""


@dataclass(slots=True)
class Health:
    """One connector instance, as this replica sees it."""

    state: HealthState = "starting"
    error: str | None = None
    last_ok_at: float | None = None
    """Wall-clock time of the last successful listing."""
    tools: int = 0
    fix: str | None = None
    """What an operator can do about ``error`` (a command to run), shown with a refused call and in status."""


class Provider(Protocol):
    family: str

    def sources(self) -> Sequence[Source]:
        """The current sources, in the order that settles contested names (earliest wins)."""

    async def settle(self, within: float) -> None:
        """Wait (at most ``within`` seconds) until every instance has been listed or has failed at least once."""

    def health(self) -> Mapping[str, Health]:
        """Each connector instance's health, by instance name: what chain stage 7 (readiness) reads.
        An instance is ready when its state is ``ok``; otherwise ``error`` (and ``fix``) say why."""

    def probe(self, quiet_for: float) -> None:
        """Re-list instances nothing was heard from in ``quiet_for`` seconds."""

    async def refresh(self, instance: str, publish: Publish) -> None:
        """Re-list one instance now (another replica saw it change) and wait for the result."""

    def close(self) -> None: ...
