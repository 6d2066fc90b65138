"""The protocol edge: the only code that knows HTTP and JSON-RPC framing.

It speaks both MCP eras to clients (the stateless 2026-07-28 revision and the
legacy session protocol 2025-06-18/2025-11-25), turns each request into a
``Call`` and hands it to the enforcement chain. It never decides who may do
what.
"""

from typing import Literal

from msplex import protocol
from msplex.chain.stages.dispatch import DISPATCHED
from msplex.mcp import legacy, modern

__all__ = ["served_methods"]


def served_methods(era: Literal["legacy", "modern"]) -> frozenset[str]:
    """Every request method an MCP endpoint serves in ``era``: what the security suite must probe."""
    if era == "legacy":
        return legacy.ANSWERED | DISPATCHED
    return modern.ANSWERED | (DISPATCHED - protocol.HANDSHAKE_ONLY_METHODS)
