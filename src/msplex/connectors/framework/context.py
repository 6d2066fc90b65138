"""What a tool handler gets for one call: the vendor client, the customer scope, the instance settings."""

from __future__ import annotations

from dataclasses import dataclass

from msplex.connectors.framework.http import VendorHTTP
from msplex.connectors.framework.scope import Scope
from msplex.connectors.framework.spec import InstanceConfig

__all__ = ["ToolContext"]


@dataclass(frozen=True, slots=True)
class ToolContext:
    http: VendorHTTP
    """Authenticated, paced, retried; raises ``VendorError`` only."""
    scope: Scope
    config: InstanceConfig
    """Non-secret settings (base URL, ``--tenant-name``, ...); secrets never reach vendor code."""
    instance: str
    vendor: str
    tenant: str
    """The MSPlex tenant's slug (for messages; never sent to the vendor)."""
