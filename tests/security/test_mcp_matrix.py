"""Every MCP method, on every endpoint family, in both eras, tried by every kind of identity that must not
get through: each denial reveals nothing, and what one may not reach looks exactly like what does not exist.

The table is checked against the application (``msplex.mcp.served_methods``): a method the gateway
serves without a row here fails ``test_the_table_covers_every_served_method``.

Acme has upstream ``ev`` (the fixture), customers ``alpha`` and ``bravo``, the entity ``desk`` (its ``ev``
tools) and the ``alpha``-only entity ``alpha-portal``; ``ev__pid`` is for admins only and ``ev__crash``
is disabled. Beta has the same fixture as ``bev``. Secrets of acme that no prober may learn: the names
``ev__pid`` and ``ev__crash`` (unless admin), ``alpha``/``bravo``, and anything of beta.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from msplex.identity.oidc import OidcProvider
from msplex.mcp import served_methods
from msplex.store.models import utcnow
from msplex.store.records import CustomerRecord, EntityRecord, ItemRuleRecord, TokenEntry, UpstreamEntry
from msplex.upstream import UpstreamSpec
from support.gateway import ServerProcess, free_port
from support.idp import Idp
from support.inproc import InProcess, snapshot, start

LEGACY, MODERN = "2025-11-25", "2026-07-28"
ACME, BETA = "t-acme", "t-beta"
ALPHA = CustomerRecord("c-alpha", ACME, "alpha", "Alpha Ltd", utcnow())
BRAVO = CustomerRecord("c-bravo", ACME, "bravo", "Bravo Ltd", utcnow())
RULES = {
    ACME: [
        ItemRuleRecord("tool", "ev__*", True, ("member", "admin"), 1),
        ItemRuleRecord("tool", "ev__echo", True, ("customer", "member", "admin"), 2),
        ItemRuleRecord("tool", "ev__pid", True, ("admin",), 3),
        ItemRuleRecord("tool", "ev__crash", False, (), 4),
        ItemRuleRecord("resource", "ev+test://watched", True, ("member", "admin"), 5),
    ],
    BETA: [ItemRuleRecord(kind, "*", True, ("member", "admin"), i) for i, kind in enumerate(("tool", "resource"))],
}
LIVE_TOKENS = {
    "mspx_acme_admin": TokenEntry(ACME, "k1", "admin"),
    "mspx_acme_member": TokenEntry(ACME, "k2", "member"),
    "mspx_bravo": TokenEntry(ACME, "k3", "customer", customer_id=BRAVO.id),
    "mspx_alpha": TokenEntry(ACME, "k4", "customer", customer_id=ALPHA.id),
    "mspx_expired": TokenEntry(ACME, "k5", "admin", expires_at=time.time() - 1),
    "mspx_operator": TokenEntry(None, "k6", None),
    "mspx_beta_admin": TokenEntry(BETA, "k7", "admin"),
}


def _entity(slug: str, customer: str | None) -> EntityRecord:
    return EntityRecord(
        f"e-{slug}", ACME, slug, slug, None, None, None, None, None, customer, False, ("ev__*", "ev+*"), utcnow()
    )


# Endpoint families: (path of the probed endpoint, path of a control endpoint that does not exist)
ENDPOINTS = {
    "tenant": ("/mcp/v1/acme", "/mcp/v1/no-such-msp"),
    "mcp": ("/mcp", "/mcp"),
    "entity": ("/mcp/entities/alpha-portal", "/mcp/entities/no-such-entity"),
}


ACME_SECRETS = (r"(?<![a-z])ev__", r"(?<![a-z])ev\+", "alpha", "bravo", "Alpha Ltd", "Bravo Ltd", "t-acme")
BETA_SECRETS = (r"bev__", r"bev\+", "beta", "t-beta")
ADMIN_ONLY = (r"(?<![a-z])ev__pid", r"(?<![a-z])ev__crash", r"ev\+test://pid")


@dataclass(frozen=True)
class Prober:
    """Who tries, and what they must never see."""

    name: str
    bearer: Callable[[Idp], str | None]
    may_use: frozenset[str]
    """Endpoint families this identity is legitimately admitted to (then item visibility is what is probed)."""
    secrets: tuple[str, ...] = (*ACME_SECRETS, *BETA_SECRETS)
    """Patterns of what this prober must never be shown."""


PROBERS = [
    Prober("another tenant's admin", lambda idp: "mspx_beta_admin", frozenset({"mcp"}), ACME_SECRETS),
    Prober(
        "another customer",
        lambda idp: "mspx_bravo",
        frozenset({"tenant", "mcp"}),
        ("alpha", "Alpha Ltd", *ADMIN_ONLY, *BETA_SECRETS),
    ),
    Prober(
        "a member (lower audience)",
        lambda idp: "mspx_acme_member",
        frozenset({"tenant", "mcp"}),
        (*ADMIN_ONLY, *BETA_SECRETS),
    ),
    Prober("anonymous", lambda idp: None, frozenset()),
    Prober("an expired token", lambda idp: "mspx_expired", frozenset()),
    Prober("a revoked token", lambda idp: "mspx_revoked_long_ago", frozenset()),
    Prober("an operator token", lambda idp: "mspx_operator", frozenset()),
    Prober("a JWT not yet valid", lambda idp: idp.not_yet_valid({"msplex_tenant": "acme"}), frozenset()),
    Prober("a JWT for another audience", lambda idp: idp.wrong_audience({"msplex_tenant": "acme"}), frozenset()),
    Prober("a JWT from another issuer", lambda idp: idp.wrong_issuer({"msplex_tenant": "acme"}), frozenset()),
    Prober("a forged JWT", lambda idp: idp.forged({"msplex_tenant": "acme", "roles": ["admin"]}), frozenset()),
    Prober("an alg:none JWT", lambda idp: idp.unsigned({"msplex_tenant": "acme", "roles": ["admin"]}), frozenset()),
    Prober(
        "HS256 keyed with the public key",
        lambda idp: idp.hs256_with_public_key({"msplex_tenant": "acme", "roles": ["admin"]}),
        frozenset(),
    ),
    Prober("an expired JWT", lambda idp: idp.expired({"msplex_tenant": "acme", "roles": ["admin"]}), frozenset()),
]

# What each method names (a forbidden item, and an absent one of the same kind for the control)
FORBIDDEN, ABSENT = "ev__pid", "ev__nope"
PARAMS: dict[str, Callable[[str], dict[str, Any]]] = {
    "initialize": lambda name: {
        "protocolVersion": LEGACY,
        "capabilities": {},
        "clientInfo": {"name": "p", "version": "1"},
    },
    "ping": lambda name: {},
    "logging/setLevel": lambda name: {"level": "info"},
    "server/discover": lambda name: {},
    "subscriptions/listen": lambda name: {"notifications": {"toolsListChanged": True}},
    "tools/list": lambda name: {},
    "prompts/list": lambda name: {},
    "resources/list": lambda name: {},
    "resources/templates/list": lambda name: {},
    "tools/call": lambda name: {"name": name, "arguments": {}},
    "prompts/get": lambda name: {"name": name},
    "resources/read": lambda name: {"uri": name.replace("__", "+test://")},
    "resources/subscribe": lambda name: {"uri": name.replace("__", "+test://")},
    "resources/unsubscribe": lambda name: {"uri": name.replace("__", "+test://")},
    "completion/complete": lambda name: {
        "ref": {"type": "ref/prompt", "name": name},
        "argument": {"name": "a", "value": ""},
    },
}
ECHOING = (
    "tools/call",
    "prompts/get",
    "completion/complete",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
)
"""Methods whose error names the item the prober itself asked for."""


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    server = ServerProcess.everything(tmp_path_factory.mktemp("matrix"), "--json").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idp() -> AsyncIterator[Idp]:
    with Idp() as provider:
        yield provider


@dataclass
class Served:
    gw: InProcess
    base: str


@pytest.fixture(scope="module")
async def gateway(upstream: ServerProcess, idp: Idp) -> AsyncIterator[Served]:
    entries = {
        ACME: [UpstreamEntry("u1", UpstreamSpec(ACME, "ev", "http", url=upstream.url), True, utcnow())],
        BETA: [UpstreamEntry("u2", UpstreamSpec(BETA, "bev", "http", url=upstream.url), True, utcnow())],
    }
    snap = snapshot(
        [(ACME, "acme", False), (BETA, "beta", False)],
        dict(LIVE_TOKENS),
        entries,
        rules=RULES,
        customers=[ALPHA, BRAVO],
        entities=[_entity("desk", None), _entity("alpha-portal", ALPHA.id)],
    )
    live = await start(snap, oidc=OidcProvider(issuer=idp.issuer, audience="msplex", jwks_url=idp.jwks_url))
    for tenant in (ACME, BETA):
        catalogue = live.gateway.catalogue(tenant)
        assert catalogue is not None
        await catalogue.settle(10)
    port = free_port()  # a real HTTP server: streams (subscriptions/listen) are read as a client reads them
    server = uvicorn.Server(uvicorn.Config(live.edge, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        await asyncio.sleep(0.01)
    yield Served(live, f"http://127.0.0.1:{port}")
    server.should_exit = True
    await serving
    await live.close()


class Client:
    """Raw MCP over the edge, in one era, as one identity; a legacy session is opened on first use."""

    def __init__(self, served: Served, path: str, era: str, bearer: str | None) -> None:
        self._http = httpx.AsyncClient(base_url=served.base, timeout=15)
        self.path, self.era, self.bearer = path, era, bearer
        self.session: str | None = None
        self.opened: httpx.Response | None = None

    async def close(self) -> None:
        await self._http.aclose()

    def _headers(self, method: str, params: dict[str, Any]) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.bearer is not None:
            headers["Authorization"] = f"Bearer {self.bearer}"
        if self.era == MODERN:
            headers |= {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
            name = params.get("name", params.get("uri"))
            if method in ("tools/call", "prompts/get", "resources/read") and isinstance(name, str):
                headers["Mcp-Name"] = name
        elif self.session is not None:
            headers |= {"Mcp-Session-Id": self.session, "MCP-Protocol-Version": LEGACY}
        return headers

    async def call(self, method: str, params: dict[str, Any]) -> httpx.Response:
        if self.era == LEGACY and method != "initialize" and self.session is None:
            self.opened = await self.call("initialize", PARAMS["initialize"](""))
            self.session = self.opened.headers.get("mcp-session-id")
            if self.session is None:
                return self.opened  # the identity cannot even open a session here: that is the answer
        if self.era == MODERN:
            meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
            params = {**params, "_meta": meta}
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        if method == "subscriptions/listen":
            async with self._http.stream("POST", self.path, json=body, headers=self._headers(method, params)) as s:
                if s.status_code != 200:
                    await s.aread()
                    return s
                first = await anext(s.aiter_lines())
                return httpx.Response(200, headers=s.headers, content=first.encode())
        return await self._http.post(self.path, json=body, headers=self._headers(method, params))


def _body(response: httpx.Response) -> str:
    text = response.text
    return "\n".join(line[5:] for line in text.splitlines() if line.startswith("data:")) or text


def _normal(text: str) -> str:
    """Erase what legitimately differs between probes: item names, slugs, instants and durations."""
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+Z|\d+ s\b", "WHEN", text)
    return (
        re.sub(r"ev(__|\+test://)(pid|nope)", "ITEM", text)
        .replace("no-such-msp", "acme")
        .replace("no-such-entity", "alpha-portal")
    )


def _denied(response: httpx.Response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    doc = json.loads(_body(response).splitlines()[-1])
    return "error" in doc


def test_the_table_covers_every_served_method() -> None:
    for era in ("legacy", "modern"):
        assert served_methods(era) <= set(PARAMS), sorted(served_methods(era) - set(PARAMS))  # type: ignore[arg-type]


CASES = [(prober, family, era) for prober in PROBERS for family in ENDPOINTS for era in (LEGACY, MODERN)]


@pytest.mark.parametrize(("prober", "family", "era"), CASES, ids=lambda v: getattr(v, "name", v))
async def test_a_prober_learns_nothing(gateway: Served, idp: Idp, prober: Prober, family: str, era: str) -> None:
    path, control_path = ENDPOINTS[family]
    bearer = prober.bearer(idp)
    methods = sorted(served_methods("legacy" if era == LEGACY else "modern"))
    tried = denials = 0
    for method in methods:
        if era == LEGACY and method == "initialize":
            continue  # every legacy probe below opens its session with it
        admitted = family in prober.may_use  # then the control is an absent item on the same endpoint
        probe = Client(gateway, path, era, bearer)
        control = Client(gateway, path if admitted else control_path, era, bearer)
        try:
            asked = await probe.call(method, PARAMS[method](FORBIDDEN))
            baseline = await control.call(method, PARAMS[method](ABSENT))
        finally:
            await probe.close()
            await control.close()
        tried += 1
        text = _body(asked)
        shown = text.replace(path, "").replace(json.dumps(PARAMS[method](FORBIDDEN))[1:-1], "")
        if method in ECHOING:
            shown = re.sub(r"ev(__|\+test://)pid", "", shown)
        leaked = [secret for secret in prober.secrets if re.search(secret, shown)]
        assert not leaked, (prober.name, family, era, method, leaked, text[:300])
        assert bearer is None or (bearer not in text and bearer not in asked.headers.get("www-authenticate", ""))
        if not admitted:
            assert _denied(asked), (prober.name, family, era, method, asked.status_code, text[:300])
            denials += 1
            if family != "mcp":  # absent and forbidden endpoints answer alike
                assert (asked.status_code, _normal(text)) == (baseline.status_code, _normal(_body(baseline))), method
        elif method in ("tools/call", "resources/read", "completion/complete", "prompts/get"):
            assert _denied(asked)
            denials += 1
            assert (asked.status_code, _normal(text)) == (baseline.status_code, _normal(_body(baseline))), method
    assert tried == len(methods) - (1 if era == LEGACY else 0) and denials > 0


async def test_a_legacy_session_opened_by_one_identity_is_nobody_elses(gateway: Served, idp: Idp) -> None:
    owner = Client(gateway, "/mcp/v1/acme", LEGACY, "mspx_acme_admin")
    try:
        assert (await owner.call("tools/list", {})).status_code == 200
        for other in (
            "mspx_acme_member",
            "mspx_beta_admin",
            None,
            idp.mint({"msplex_tenant": "acme", "roles": ["admin"]}),
        ):
            thief = Client(gateway, "/mcp/v1/acme", LEGACY, other)
            thief.session = owner.session
            try:
                for method in ("tools/list", "tools/call", "ping"):
                    stolen = await thief.call(method, PARAMS[method](FORBIDDEN))
                    assert stolen.status_code in (401, 403, 404), (other, method, stolen.status_code)
                    assert "ev__pid" not in stolen.text or method == "tools/call"
            finally:
                await thief.close()
    finally:
        await owner.close()


async def test_an_answer_to_an_elicitation_counts_only_from_the_session_owner(gateway: Served) -> None:
    owner = Client(gateway, "/mcp/v1/acme", LEGACY, "mspx_acme_admin")
    thief = Client(gateway, "/mcp/v1/acme", LEGACY, "mspx_acme_member")
    try:
        await owner.call("ping", {})
        thief.session = owner.session
        answer = {"jsonrpc": "2.0", "id": "msplex-x-1", "result": {"action": "accept"}}
        posted = await thief._http.post(thief.path, json=answer, headers=thief._headers("", {}))
    finally:
        await owner.close()
        await thief.close()
    assert posted.status_code == 404  # the session does not exist for anyone but its owner
