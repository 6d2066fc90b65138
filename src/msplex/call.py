"""The typed request that travels from the protocol edge through the chain.

``Call`` is frozen: a chain stage that learns a fact returns a new ``Call``
with that field set (``dataclasses.replace``), so no stage can change what an
earlier one established.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from msplex.federation.runtime import TenantRuntime

__all__ = ["Call", "ClientEra", "Peer", "Principal"]

ClientEra = Literal["legacy", "modern"]


class Peer(Protocol):
    """The calling client, as seen from inside one request.

    ``notify`` sends a notification related to this request (progress, log).
    ``request`` sends a server-to-client request (legacy clients only:
    ``can_request`` says whether this client has a back-channel) and returns
    the client's JSON-RPC response dict (``result`` or ``error``).
    """

    can_request: bool

    async def notify(self, message: dict[str, Any]) -> None: ...

    async def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``token_id`` is ``None`` for anonymous callers."""

    kind: Literal["anonymous", "token"]
    tenant_id: str | None
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    params: dict[str, Any]
    request_id: Any
    era: ClientEra
    protocol_version: str
    client_capabilities: Mapping[str, Any]
    peer: Peer
    tenant_slug: str | None = None
    """From the URL (``/mcp/v1/{tenant}``); ``None`` on ``/mcp``."""
    bearer_digest: str | None = None
    """SHA-256 of the bearer token (``msplex.crypto.token_digest``); never the token itself."""
    client_info: Mapping[str, Any] | None = None
    log_level: str | None = None
    """Lowest level of log notifications the client wants; ``None`` = none (2026-07-28) ."""
    session_id: str | None = None
    """The legacy session's internal id, for per-session state (subscriptions, cancellation)."""
    session_tenant_id: str | None = None
    """The tenant a legacy session was opened for; the call must stay in it."""
    headers: Mapping[str, str] | None = None
    principal: Principal | None = None
    tenant: TenantRuntime | None = None

    def learned(self, **facts: Any) -> Call:
        """A copy with ``facts`` set: how a stage adds what it established.

        Equivalent to ``dataclasses.replace`` at a fraction of its cost (it
        re-derives the field list on every call; this is the hot path).
        """
        new = object.__new__(Call)
        for name in _FIELDS:
            object.__setattr__(new, name, facts[name] if name in facts else getattr(self, name))
        return new


_FIELDS = tuple(Call.__dataclass_fields__)
