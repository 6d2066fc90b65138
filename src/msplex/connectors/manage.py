"""Creating, checking and scoping vendor connector instances: the service behind ``msplex connect``,
``msplex customer discover`` and the admin API's connector routes (one code path for both).

``connect`` validates before it saves: the vendor's live check runs with the new credentials, and
only when it passes are they sealed into the vault, so a typo never replaces working credentials.
A failure is a ``ConnectFailed`` naming what went wrong (unknown host, rejected secret, missing
scope) and the fix, never carrying a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from secrets import token_urlsafe

import httpx

from msplex.connectors.framework.discover import Proposal, propose
from msplex.connectors.framework.errors import NotReady, VendorError
from msplex.connectors.framework.instance import VendorInstance
from msplex.connectors.framework.redact import scrub_text
from msplex.connectors.framework.registry import vendor as vendor_of
from msplex.connectors.framework.spec import AuthorizationCode, InstanceConfig, Vendor
from msplex.store import validation
from msplex.store.records import ConnectorRecord
from msplex.store.store import Store
from msplex.vault.auth import MemoryTokens, build_auth
from msplex.vault.oauth import TokenEndpoint, authorization_url, new_verifier

__all__ = [
    "Authorization",
    "ConnectFailed",
    "Connected",
    "begin_authorization",
    "connect",
    "discover",
    "enable_tools",
    "finish_authorization",
    "missing_flags",
    "validate_entry",
]

VALIDATE_TIMEOUT = 20.0


class ConnectFailed(Exception):
    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(f"{message}; {fix}" if fix else message)
        self.message = message
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Connected:
    record: ConnectorRecord
    created: bool
    tools: tuple[tuple[str, bool], ...]
    """Public tool names and whether each is read-only."""


def missing_flags(vendor: Vendor, settings: Mapping[str, str], secrets: Mapping[str, str]) -> list[str]:
    """Required vendor flags without a value."""
    given = {k for k, v in {**settings, **secrets}.items() if v}
    return [f.option for f in vendor.flags if f.required and f.field not in given]


def _explain(exc: VendorError, vendor: Vendor, base_url: str) -> ConnectFailed:
    secret_flags = "/".join(f.option for f in vendor.flags if f.secret) or "the credentials"
    if exc.kind == "unreachable":
        return ConnectFailed(exc.message, "check --base-url" + (" and --token-url" if "token" in exc.message else ""))
    if isinstance(exc, NotReady) and exc.status == 404:
        return ConnectFailed(exc.message, "check --base-url (and --token-url)")
    if isinstance(exc, NotReady) or exc.kind == "auth":
        if "scope" in exc.message:
            return ConnectFailed(
                exc.message, f"grant the scope to the API application in {vendor.title}, or pass --scope"
            )
        return ConnectFailed(exc.message, f"check {secret_flags}")
    if exc.kind == "forbidden":
        return ConnectFailed(
            exc.message, f"give the {vendor.title} API user or application the permissions listed in --help"
        )
    if exc.kind == "not_found":
        return ConnectFailed(f"{exc.message} (is {base_url} the {vendor.base_url_help}?)", "check --base-url")
    return ConnectFailed(exc.message, "")


async def validate_entry(
    vendor: Vendor, config: InstanceConfig, secrets: Mapping[str, str], http: httpx.AsyncClient, tenant: str
) -> None:
    """The vendor's live check with these credentials; ``ConnectFailed`` with the fix."""
    auth = build_auth(vendor, config, secrets, http, tokens=MemoryTokens())
    instance = VendorInstance(vendor, config, auth, http, tenant=tenant)
    try:
        await instance.validate()
    except VendorError as exc:
        failed = _explain(exc, vendor, config.base_url)
        raise ConnectFailed(scrub_text(failed.message, secrets.values()), failed.fix) from None


async def connect(
    store: Store,
    tenant: str,
    kind: str,
    *,
    name: str | None,
    base_url: str,
    token_url: str | None,
    settings: Mapping[str, str],
    secrets: Mapping[str, str],
    validate: bool = True,
    http: httpx.AsyncClient | None = None,
    registered_by: str = "operator",
) -> Connected:
    """Create or update a connector instance (secrets not given are kept from the stored instance)."""
    vendor = vendor_of(kind)
    instance = name or vendor.kind
    validation.check_upstream_name(instance)
    validation.check_url(base_url, "base URL")
    if token_url:
        validation.check_url(token_url, "token URL")
    connectors = store.tenant(tenant).connectors
    stored: dict[str, str] = {}
    existing = {r.name: r for r in await connectors.list()}
    if instance in existing:
        stored = dict((await connectors.entry(instance)).secrets)
    merged = {**stored, **{k: v for k, v in secrets.items() if v}}
    missing = missing_flags(vendor, settings, merged)
    if missing:
        raise ConnectFailed(f"{vendor.title} needs {', '.join(missing)}", f"see `msplex connect {kind} --help`")
    config = InstanceConfig(base_url.rstrip("/"), token_url or None, {k: v for k, v in settings.items() if v})
    if isinstance(vendor.credential, AuthorizationCode):
        validate = False  # nothing to check until a person grants access (`msplex connector authorize`)
    if validate:
        async with _client(http) as client:
            await validate_entry(vendor, config, merged, client, tenant)
    record, created = await connectors.save(
        instance,
        kind=vendor.kind,
        base_url=config.base_url,
        token_url=config.token_url,
        settings=config.settings,
        secrets=merged,
        registered_by=registered_by,
    )
    tools = tuple((f"{instance}__{t.name}", t.read_only) for t in vendor.tools)
    return Connected(record, created, tools)


async def enable_tools(
    store: Store,
    tenant: str,
    done: Connected,
    which: str,
    *,
    audiences: tuple[str, ...] = ("admin", "member"),
) -> None:
    """``--enable``: ``all`` the instance's tools, only its ``read-only`` ones, or ``none``."""
    scope = store.tenant(tenant)
    if which == "all":
        await scope.set_rule("tool", f"{done.record.name}__*", enabled=True, audiences=audiences)
    elif which == "read-only":
        for public, read_only in done.tools:
            if read_only:
                await scope.set_rule("tool", public, enabled=True, audiences=audiences)


async def discover(
    store: Store, tenant: str, name: str, *, apply: bool = False, http: httpx.AsyncClient | None = None
) -> list[Proposal]:
    """Proposals matching the tenant's customers to the vendor's records by name; ``apply`` maps the matches."""
    scope = store.tenant(tenant)
    entry = await scope.connectors.entry(name)
    record = entry.record
    vendor = vendor_of(record.kind)
    if vendor.companies is None:
        raise ConnectFailed(
            f"the {vendor.title} connector cannot list its {vendor.customer_term}s",
            "map customers with `msplex customer map`",
        )
    config = InstanceConfig(record.base_url, record.token_url, dict(record.settings))
    async with _client(http) as client:
        auth = build_auth(vendor, config, entry.secrets, client, tokens=MemoryTokens())
        instance = VendorInstance(vendor, config, auth, client, tenant=tenant, name=name)
        try:
            companies = await vendor.companies(instance.context())
        except VendorError as exc:
            failed = _explain(exc, vendor, record.base_url)
            raise ConnectFailed(scrub_text(failed.message, entry.secrets.values()), failed.fix) from None
    customers = [(c.slug, c.name) for c in await scope.list_customers()]
    proposals = propose(customers, companies, record.customers)
    if apply:
        for proposal in proposals:
            if proposal.verdict == "match" and proposal.vendor_id is not None:
                await scope.connectors.map_customer(proposal.customer, name, proposal.vendor_id)
    return proposals


@dataclass(frozen=True, slots=True)
class Authorization:
    """An authorization-code grant in progress: where to send the person, and what proves it is ours."""

    url: str
    state: str
    verifier: str = field(repr=False)
    redirect_uri: str


async def begin_authorization(store: Store, tenant: str, name: str, redirect_uri: str) -> Authorization:
    """The authorization URL (PKCE S256, RFC 8707 resource when the vendor names one) for ``name``."""
    entry = await store.tenant(tenant).connectors.entry(name)
    record = entry.record
    vendor = vendor_of(record.kind)
    kind = vendor.credential
    if not isinstance(kind, AuthorizationCode):
        raise ConnectFailed(f"connector '{name}' ({vendor.title}) does not use the authorization-code flow")
    config = InstanceConfig(record.base_url, record.token_url, dict(record.settings))
    client_id = {**record.settings, **entry.secrets}.get(kind.client_id, "")
    state, verifier = token_urlsafe(24), new_verifier()
    url = authorization_url(
        kind.authorize_url(config),
        client_id,
        redirect_uri=redirect_uri,
        scope=kind.scope,
        state=state,
        verifier=verifier,
        resource=kind.resource(config),
    )
    return Authorization(url, state, verifier, redirect_uri)


async def finish_authorization(
    store: Store, tenant: str, name: str, grant: Authorization, code: str, *, http: httpx.AsyncClient | None = None
) -> Connected:
    """Exchange the code for tokens, keep them sealed in the vault, and run the vendor's live check."""
    scope = store.tenant(tenant)
    entry = await scope.connectors.entry(name)
    record = entry.record
    vendor = vendor_of(record.kind)
    kind = vendor.credential
    assert isinstance(kind, AuthorizationCode)
    config = InstanceConfig(record.base_url, record.token_url, dict(record.settings))
    settings = {**record.settings, **entry.secrets}
    fix = f"run `msplex connector authorize {name} --tenant {tenant}` again"
    async with _client(http) as client:
        endpoint = TokenEndpoint(
            client,
            config.token_url or kind.token_url(config),
            settings.get(kind.client_id, ""),
            entry.secrets.get(kind.client_secret) if kind.client_secret else None,
            vendor=vendor.title,
            fix=fix,
        )
        try:
            token = await endpoint.authorization_code(code, redirect_uri=grant.redirect_uri, verifier=grant.verifier)
        except NotReady as exc:
            raise ConnectFailed(exc.message, fix) from None
        await scope.connectors.save_token(name, token)
        tokens = MemoryTokens(token)
        auth = build_auth(vendor, config, entry.secrets, client, tokens=tokens, fix=fix)
        instance = VendorInstance(vendor, config, auth, client, tenant=tenant, name=name)
        try:
            await instance.validate()
        except VendorError as exc:
            failed = _explain(exc, vendor, record.base_url)
            raise ConnectFailed(scrub_text(failed.message, auth.secrets()), failed.fix) from None
        if tokens.token != token and tokens.token is not None:
            await scope.connectors.save_token(name, tokens.token)  # renewed during the check
    return Connected(record, False, tuple((f"{name}__{t.name}", t.read_only) for t in vendor.tools))


class _client:
    """The given client, or a short-lived one for a CLI command."""

    def __init__(self, given: httpx.AsyncClient | None) -> None:
        self._given = given
        self._own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx.AsyncClient(timeout=VALIDATE_TIMEOUT, follow_redirects=False)
        return self._own

    async def __aexit__(self, *exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()
