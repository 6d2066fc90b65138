"""What a vendor module declares: its flags, its credential kind, its limits, its tools.

Everything here is data (frozen dataclasses) plus async hooks; nothing touches the network at
import. The gateway, the CLI (``msplex connect``), the vault and the catalogue all read the same
``Vendor`` value, so a flag, a tool or an effect is declared exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx

    from msplex.connectors.framework.context import ToolContext

__all__ = [
    "JSON",
    "ApiKeyHeader",
    "AuthorizationCode",
    "BasicWithClientId",
    "ClientCredentials",
    "Company",
    "Condition",
    "CredentialKind",
    "Effects",
    "Flag",
    "Handler",
    "InstanceConfig",
    "RateLimit",
    "ToolSpec",
    "Vendor",
    "When",
    "effects_of",
]

JSON = dict[str, Any]
Handler = Callable[["ToolContext", JSON], Awaitable[JSON]]
"""``handler(ctx, args) -> structured result``: ``args`` were validated against the input schema;
raise ``ToolError`` (or let ``ctx.http`` raise ``VendorError``) for a failure the model should see."""


# configuration -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flag:
    """One vendor flag of ``msplex connect`` (beyond ``--tenant``, ``--instance``, ``--base-url``,
    ``--token-url``), in the vendor's own terms. ``field`` names it in ``InstanceConfig``."""

    field: str
    option: str
    help: str
    secret: bool = False
    """Stored in the vault only; read from the flag, ``env``, stdin (``-``) or a no-echo prompt."""
    required: bool = True
    env: str | None = None
    default: str | None = None


@dataclass(frozen=True, slots=True)
class InstanceConfig:
    """A connector instance's non-secret settings, as vendor code sees them (secrets stay in the vault)."""

    base_url: str
    token_url: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    """The non-secret flag values by ``Flag.field``."""


# credential kinds (the vault turns each into per-request auth) -------------------------------


@dataclass(frozen=True, slots=True)
class ApiKeyHeader:
    """A static key in a header (Hudu: ``x-api-key``)."""

    header: str
    secret: str = "api_key"
    """The ``Flag.field`` holding the key."""


@dataclass(frozen=True, slots=True)
class BasicWithClientId:
    """Basic ``{company}+{public}:{private}`` plus a client id header (ConnectWise PSA)."""

    company: str = "company_id"
    public: str = "public_key"
    private: str = "private_key"
    client_id: str = "client_id"
    client_id_header: str = "clientId"


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """OAuth 2 client credentials (HaloPSA, Pax8, NinjaOne), through authlib."""

    token_url: Callable[[InstanceConfig], str]
    """Where the token endpoint is when ``--token-url`` was not given (a vendor's default layout)."""
    client_id: str = "client_id"
    client_secret: str = "client_secret"
    scope: Callable[[InstanceConfig], str | None] = lambda config: config.settings.get("scope")
    extra: Callable[[InstanceConfig], Mapping[str, str]] = lambda config: {}
    """Further token request parameters (Pax8 ``audience``)."""
    query: Callable[[InstanceConfig], Mapping[str, str]] = lambda config: {}
    """Query parameters of the token URL (Halo hosted: ``tenant``)."""
    body: Literal["form", "json"] = "form"
    auth_method: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """OAuth 2 authorization code with PKCE and refresh tokens (NinjaOne user context), through authlib."""

    authorize_url: Callable[[InstanceConfig], str]
    token_url: Callable[[InstanceConfig], str]
    scope: str
    client_id: str = "client_id"
    client_secret: str | None = "client_secret"
    resource: Callable[[InstanceConfig], str | None] = lambda config: None
    """RFC 8707 resource indicator (MCP authorization)."""


CredentialKind = ApiKeyHeader | BasicWithClientId | ClientCredentials | AuthorizationCode


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The vendor's published limit; the gateway paces itself under ``margin`` of it so it does not cause
    429s, and backs off (``backoff`` seconds, doubling to ``backoff_max``) when one comes without
    ``Retry-After``. ``max_wait``: the longest one call waits for the vendor before it reports
    ``rate_limited`` with the time to retry."""

    requests: int
    per_seconds: float
    margin: float = 0.9
    backoff: float = 1.0
    backoff_max: float = 60.0
    max_wait: float = 30.0
    retries: int = 4


# tools -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One argument test: ``present`` (given and not null/empty), ``equals`` or ``not_equals`` ``value``
    (a missing argument counts as ``default``)."""

    arg: str
    op: Literal["present", "equals", "not_equals"]
    value: Any = None
    default: Any = None

    def to_json(self) -> JSON:
        out: JSON = {"arg": self.arg, "op": self.op}
        if self.op != "present":
            out["value"] = self.value
            out["default"] = self.default
        return out


@dataclass(frozen=True, slots=True)
class When:
    """An effect happens when ANY condition holds; no conditions: always."""

    any: tuple[Condition, ...] = ()

    def to_json(self) -> JSON:
        return {"always": True} if not self.any else {"any": [c.to_json() for c in self.any]}


@dataclass(frozen=True, slots=True)
class Effects:
    """When a write reaches a client or an invoice, machine-readable in the tool's ``_meta``
    (``msplex/effects``), so policy can tell "internal note" from "emails the client"."""

    client_visible: When | None = None
    billable: When | None = None

    def of(self, args: Mapping[str, Any]) -> frozenset[str]:
        """The effects these arguments have: ``clientVisible``, ``billable`` (as the gateway reads them)."""
        return effects_of(self.to_json(), args)

    def to_json(self) -> JSON:
        out: JSON = {}
        if self.client_visible is not None:
            out["clientVisible"] = self.client_visible.to_json()
        if self.billable is not None:
            out["billable"] = self.billable.to_json()
        return out


def effects_of(effects: Mapping[str, Any], args: Mapping[str, Any]) -> frozenset[str]:
    """The effects a listed tool's ``_meta["msplex/effects"]`` (JSON, as ``Effects.to_json`` wrote it) has
    for these arguments: what policy and the approval default read, without the vendor module."""
    out = set()
    for effect, when in effects.items():
        if not isinstance(when, dict):
            continue
        if when.get("always") is True:
            out.add(effect)
            continue
        for cond in when.get("any") or ():
            if isinstance(cond, dict) and _holds(cond, args):
                out.add(effect)
                break
    return frozenset(out)


def _holds(cond: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    arg, op = cond.get("arg"), cond.get("op")
    if not isinstance(arg, str):
        return True  # a condition this gateway cannot read: assume the effect (fail closed)
    if op == "present":
        return args.get(arg) not in (None, "", [], {})
    actual = args.get(arg, cond.get("default"))
    if op == "equals":
        return bool(actual == cond.get("value"))
    if op == "not_equals":
        return bool(actual != cond.get("value"))
    return True


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One vendor tool. Hints are honest: a read is ``read_only``; a write says whether it destroys,
    whether repeating it is harmless, and every vendor tool is open-world (it reaches a SaaS)."""

    name: str
    description: str
    """Written for a model: what it does, when to use it, what the paging and scoping mean."""
    input_schema: JSON
    output_schema: JSON
    handler: Handler
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    title: str | None = None
    effects: Effects = field(default_factory=Effects)
    reveals_secrets: bool = False
    """A reveal tool: its result is not redacted; listed with ``msplex/sensitive`` (off by default, approval)."""

    def definition(self, vendor: str) -> JSON:
        """The MCP tool definition (its own name; the catalogue prefixes it with the instance)."""
        meta: JSON = {"msplex/vendor": vendor, "msplex/effects": self.effects.to_json()}
        if self.reveals_secrets:
            meta["msplex/sensitive"] = True
        tool: JSON = {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
            "annotations": {
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": self.open_world,
            },
            "_meta": meta,
        }
        if self.title:
            tool["title"] = self.title
            tool["annotations"]["title"] = self.title
        return tool


@dataclass(frozen=True, slots=True)
class Company:
    """One of the vendor's customer records (Halo client, Hudu company, ...), for ``customer discover``."""

    id: str
    name: str


@dataclass(frozen=True)
class Vendor:
    """A vendor module's one export (``VENDOR``). See the package docstring for the contract."""

    kind: str
    """``halopsa``, ``hudu``, ``connectwise``, ``pax8``, ``ninjaone``: the default instance name and
    what ``Target.vendor`` (and a plan's connector entitlement) names."""
    title: str
    credential: CredentialKind
    flags: tuple[Flag, ...]
    tools: tuple[ToolSpec, ...]
    validate: Callable[[ToolContext], Awaitable[None]]
    """One cheap live call proving the credential works (and has the scopes the tools need);
    raises ``VendorError``. ``msplex connect`` runs it before it reports the session ready."""
    rate: RateLimit | None = None
    companies: Callable[[ToolContext], Awaitable[list[Company]]] | None = None
    """Every customer record of the tenant's vendor account (``customer discover``)."""
    secret_fields: frozenset[str] = frozenset()
    """Result keys redacted wherever they appear, besides any key containing ``password`` or ``secret``."""
    error_message: Callable[[httpx.Response], str | None] | None = None
    """The vendor's error text from an error response (its bodies vary); default: common keys."""
    base_url_help: str = "the API root"
    customer_term: str = "company"
    """What the vendor calls a customer (``client`` in Halo), for messages."""

    def flag(self, field_name: str) -> Flag | None:
        return next((f for f in self.flags if f.field == field_name), None)

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)
