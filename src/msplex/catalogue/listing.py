"""What one connector instance lists, and how a provider hands it to the merge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msplex.call import Connector

__all__ = ["JSON", "Listing", "Source"]

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Listing:
    """One instance's items exactly as it listed them (its own names)."""

    tools: tuple[JSON, ...] = ()
    resources: tuple[JSON, ...] = ()
    resourceTemplates: tuple[JSON, ...] = ()
    prompts: tuple[JSON, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """One connector instance's contribution to a tenant's catalogue."""

    provider: str
    instance: str
    prefixed: bool
    listing: Listing
    connector: Connector
    vendor: str | None = None
    """The MSP vendor kind of a vendor connector instance (becomes ``Target.vendor``); ``None`` for an upstream."""
