"""The typed request that travels from the protocol edge through the chain, and its facts.

``Call`` is frozen: a chain stage that learns a fact returns a new ``Call``
with that field set (``learned``), so no stage can change what an earlier one
established. The facts arrive in chain order: ``principal`` (authenticate),
``tenant``, ``entity`` and ``viewer`` (resolve_tenant), ``customer`` (resolve_customer),
``entitlement`` (load_entitlements), ``target`` (resolve_target), ``decision`` (tool policy), ``overage`` (quota),
``approval_id`` (approval); dispatch executes the target through its ``Connector``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from msplex.crypto import token_digest

if TYPE_CHECKING:
    from msplex.entitlements import Entitlement
    from msplex.store.records import Audience, CustomerRecord, EntityRecord, TenantRecord

__all__ = [
    "Call",
    "ClientEra",
    "Connector",
    "Credential",
    "Decision",
    "Peer",
    "Principal",
    "SessionBinding",
    "Target",
    "TargetKind",
]

ClientEra = Literal["legacy", "modern"]
PrincipalKind = Literal["anonymous", "token", "oidc", "operator"]
TargetKind = Literal["tool", "prompt", "resource"]
JSON = dict[str, Any]


class Peer(Protocol):
    """The calling client, as seen from inside one request.

    ``notify`` sends a notification related to this request (progress, log).
    ``request`` sends a server-to-client request (legacy clients only:
    ``can_request`` says whether this client has a back-channel) and returns
    the client's JSON-RPC response dict (``result`` or ``error``).
    """

    can_request: bool

    async def notify(self, message: JSON) -> None: ...

    async def request(self, method: str, params: JSON | None) -> JSON: ...


class Credential:
    """The bearer token a request presented. Its ``repr`` never shows it; the digest is computed once."""

    __slots__ = ("_digest", "_raw")

    def __init__(self, raw: str) -> None:
        self._raw = raw
        self._digest: str | None = None

    @property
    def raw(self) -> str:
        """The token itself: for verifiers only (a JWT's signature), never for logs or upstreams."""
        return self._raw

    @property
    def digest(self) -> str:
        if self._digest is None:
            self._digest = token_digest(self._raw)
        return self._digest

    def __repr__(self) -> str:
        return "Credential(<redacted>)"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, resolved to exactly one audience (and, for ``customer``, one customer).

    ``anonymous``: no credential, audience ``public``. ``token``: a personal access token of a
    tenant. ``oidc``: a person from the tenant's identity provider. ``operator``: the platform
    operator's token (no tenant; the admin API only).
    """

    kind: PrincipalKind
    tenant_id: str | None
    token_id: str | None = None
    audience: Audience = "public"
    customer_id: str | None = None
    tools: tuple[str, ...] | None = None
    """A token's narrowing patterns; ``None``: what the audience allows."""
    subject: str | None = None
    """For ``oidc``: ``issuer`` and ``sub``, joined by a space."""
    expires_at: float | None = None
    """When the credential stops being valid (Unix time); ``None``: until revoked."""

    @property
    def key(self) -> str:
        """Stable for the principal, whatever credential bytes it presents next (a session is bound to it)."""
        if self.kind == "token" or self.kind == "operator":
            return f"{self.kind}:{self.token_id}"
        if self.kind == "oidc":
            return f"oidc:{self.tenant_id}:{self.subject}"
        return "anonymous"


ANONYMOUS = Principal(kind="anonymous", tenant_id=None)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, as far as visibility goes (``msplex.access``): the audience, a token's
    narrowing patterns, and an entity endpoint's selection (``None``: not on an entity endpoint)."""

    audience: Audience
    tools: tuple[str, ...] | None = None
    selection: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SessionBinding:
    """The legacy session a request arrived on: its id, its tenant, and the principal that opened it."""

    sid: str
    tenant_id: str
    principal: str


class Connector(Protocol):
    """What dispatch executes a cleared call through: an upstream MCP server, or an MSP vendor connector.

    Receives the call with every fact the chain established (tenant, principal,
    target); returns the JSON-RPC result or raises ``msplex.errors.RpcError``.
    No other exception may escape it.
    """

    async def execute(self, call: Call) -> JSON: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Which connector instance a call is for, and under which name there: known before any policy stage."""

    kind: TargetKind
    public: str
    """The name (or URI) the client used."""
    instance: str
    """The connector instance (an upstream's registered name)."""
    name: str
    """The name (or URI) at the connector."""
    connector: Connector
    provider: str
    """The catalogue family it came from (``upstream`` today)."""
    item: Mapping[str, Any] | None = None
    """The listed item (tool definition, ...); ``None`` for a URI matched by a template or prefix."""
    vendor: str | None = None
    """The MSP vendor kind (``halopsa``, ``hudu``, ...) of a vendor connector's target; ``None`` for an
    upstream MCP server. What a plan's connector entitlement names, with upstream instance names."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What tool policy decided for a cleared call: the rule that decided (``None``: no rule matched and
    the default applied) and whether a person must approve the call before it is dispatched."""

    rule: str | None
    approval: bool = False


@dataclass(frozen=True)
class Call:
    """Frozen, and deliberately not slotted: ``learned`` copies the instance ``__dict__`` in one C-level
    update, so a stage's cost does not grow with the number of facts the chain carries."""

    method: str
    params: JSON
    request_id: Any
    era: ClientEra
    protocol_version: str
    client_capabilities: Mapping[str, Any]
    peer: Peer
    tenant_slug: str | None = None
    """From the URL (``/mcp/v1/{tenant}``); ``None`` on ``/mcp`` and entity endpoints."""
    entity_slug: str | None = None
    """From the URL (``/mcp/entities/{slug}``)."""
    credential: Credential | None = None
    client_info: Mapping[str, Any] | None = None
    log_level: str | None = None
    """Lowest level of log notifications the client wants; ``None`` = none (2026-07-28)."""
    session: SessionBinding | None = None
    headers: Mapping[str, str] | None = None
    principal: Principal | None = None
    tenant: TenantRecord | None = None
    entity: EntityRecord | None = None
    viewer: Viewer | None = None
    customer: CustomerRecord | None = None
    """The one customer the call is bound to (from the identity, or named by a member or admin);
    ``None``: the whole tenant."""
    entitlement: Entitlement | None = None
    """The tenant's subscription as of the last control-plane snapshot (load_entitlements)."""
    target: Target | None = None
    decision: Decision | None = None
    overage: bool = False
    """A quota was over its limit and allowed the call as overage (metered as such)."""
    approval_id: str | None = None
    """The approval request that let this call through."""

    def learned(self, **facts: Any) -> Call:
        """A copy with ``facts`` set: how a stage adds what it established.

        Equivalent to ``dataclasses.replace`` at a fraction of its cost (it re-derives
        the field list and runs ``__init__`` on every call; this is the hot path).
        """
        if not facts.keys() <= _FIELDS:
            raise TypeError(f"Call has no field(s) {sorted(facts.keys() - _FIELDS)}")
        new = object.__new__(Call)
        state = new.__dict__
        state.update(self.__dict__)
        state.update(facts)
        return new

    @property
    def caller(self) -> str:
        """Which client connection a server-to-client message may go to: its legacy session, else this request."""
        return self.session.sid if self.session is not None else f"request:{id(self.peer):x}"


_FIELDS = frozenset(Call.__dataclass_fields__)
