"""An in-process gateway (no HTTP server, no store): the real edge, chain and catalogue over a
snapshot built in the test, on the in-process shared state. For tests that drive the ASGI
callable directly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from msplex.approvals import Approvals
from msplex.connectors.framework.provider import TokenStores
from msplex.crypto import Keyring, token_digest
from msplex.gateway import Gateway
from msplex.identity.oidc import OidcProvider
from msplex.mcp.edge import Edge
from msplex.mcp.session_ids import SessionCodec
from msplex.mcp.session_state import SessionState
from msplex.state import SharedState, open_state
from msplex.store.models import utcnow
from msplex.store.records import (
    ITEM_KINDS,
    ConnectorEntry,
    ControlSnapshot,
    CustomerRecord,
    EntityRecord,
    ItemRuleRecord,
    OidcProviderRecord,
    TenantRecord,
    TokenEntry,
    UpstreamEntry,
)

__all__ = ["InProcess", "snapshot", "start"]


def snapshot(
    tenants: Sequence[tuple[str, str, bool]],
    tokens: dict[str, tuple[str, str] | TokenEntry] | None = None,
    upstreams: dict[str, Sequence[UpstreamEntry]] | None = None,
    version: int = 1,
    rules: dict[str, Sequence[ItemRuleRecord]] | None = None,
    customers: Sequence[CustomerRecord] = (),
    entities: Sequence[EntityRecord] = (),
    oidc: Sequence[OidcProviderRecord] = (),
    connectors: dict[str, Sequence[ConnectorEntry]] | None = None,
) -> ControlSnapshot:
    """Tenants as ``(id, slug, allow_anonymous)``; tokens as ``plaintext -> (tenant id, token id)`` (members)
    or a full ``TokenEntry``. Without ``rules``, every item of every tenant is enabled for admins and members."""
    records = [TenantRecord(tid, slug, slug.title(), anon, utcnow()) for tid, slug, anon in tenants]
    everything = tuple(ItemRuleRecord(kind, "*", True, ("member", "admin"), i) for i, kind in enumerate(ITEM_KINDS))
    return ControlSnapshot(
        version=version,
        tenants=MappingProxyType({t.slug: t for t in records}),
        tenants_by_id=MappingProxyType({t.id: t for t in records}),
        upstreams=MappingProxyType({k: tuple(v) for k, v in (upstreams or {}).items()}),
        tokens=MappingProxyType(
            {
                token_digest(plain): entry if isinstance(entry, TokenEntry) else TokenEntry(*entry)
                for plain, entry in (tokens or {}).items()
            }
        ),
        customers=MappingProxyType({c.id: c for c in customers}),
        entities=MappingProxyType({e.slug: e for e in entities}),
        oidc=MappingProxyType({o.tenant_id: o for o in oidc}),
        rules=MappingProxyType({t.id: tuple(rules[t.id]) if rules and t.id in rules else everything for t in records}),
        connectors=MappingProxyType({k: tuple(v) for k, v in (connectors or {}).items()}),
    )


@dataclass
class InProcess:
    state: SharedState
    gateway: Gateway
    sessions: SessionState
    edge: Edge
    codec: SessionCodec

    async def close(self) -> None:
        await self.gateway.close()
        await self.sessions.close()
        await self.state.close()


async def start(
    snap: ControlSnapshot,
    *,
    max_body_bytes: int = 4096,
    keyring: Keyring | None = None,
    oidc: OidcProvider | None = None,
    approvals: Callable[[SharedState], Approvals] | None = None,
    connector_tokens: TokenStores | None = None,
) -> InProcess:
    """``approvals``: builds the approval service on the gateway's state (without it, calls that need an
    approval are refused: there is no store to hold them in)."""
    keyring = keyring or Keyring([b"f" * 32])
    state = open_state(None)
    await state.start()
    gateway = Gateway(
        keyring, state, server_info={"name": "msplex", "version": "test"}, replica_id="test", oidc=oidc,
        approvals=approvals(state) if approvals is not None else None, connector_tokens=connector_tokens,
    )  # fmt: skip
    await gateway.start()
    gateway.apply(snap)
    sessions = SessionState(state)
    await sessions.start()
    codec = SessionCodec(keyring)
    edge = Edge(
        gateway.chain,
        gateway,
        sessions,
        codec,
        host_allowed=lambda h: h.startswith("127.0.0.1"),
        origin_allowed=lambda o: False,
        max_body_bytes=max_body_bytes,
        public_url="http://127.0.0.1",
    )
    return InProcess(state, gateway, sessions, edge, codec)
