"""Run the gateway: store, control-plane watcher, upstream pool, edge, HTTP server.

uvicorn with httptools and uvloop: measured against h11 (~222 µs CPU per
request) and granian (~141 µs), uvicorn+httptools serves a raw ASGI callable
in ~57 µs, and the whole proxied call has a budget of 400 µs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import uvicorn

from msplex import __version__
from msplex.admin import build_admin
from msplex.approvals import Approvals
from msplex.audit.writer import AuditWriter
from msplex.controlplane import ControlPlane
from msplex.crypto import Keyring
from msplex.gateway import PROBE_SECONDS, Gateway
from msplex.httpserver import BACKLOG, configure_logging, guarded_protocol, listen
from msplex.identity.oidc import OidcProvider
from msplex.mcp.edge import Edge
from msplex.mcp.session_ids import MAX_AGE_SECONDS, SessionCodec
from msplex.mcp.session_state import SessionState
from msplex.state import open_state
from msplex.store import Store
from msplex.store.connectors import StoredToken
from msplex.store.records import ControlSnapshot, UpstreamHealth
from msplex.upstream import default_stdio_user
from msplex.workers import Limits

if TYPE_CHECKING:
    from msplex.mcp.http import Receive, Scope, Send
    from msplex.settings import Settings

__all__ = ["GatewayApp", "build", "run"]

log = logging.getLogger("msplex.server")
HEARTBEAT_SECONDS = 2.0
PURGE_SECONDS = 3600.0
SERVER_INFO = {"name": "msplex", "version": __version__}


def deployment_provider(settings: Settings) -> OidcProvider | None:
    """The deployment's identity provider from ``MSPLEX_OIDC_*`` (``ValueError`` names a bad setting)."""
    if not settings.oidc_issuer:
        return None
    return OidcProvider(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.oidc_jwks_url or None,
        tenant_claim=settings.oidc_tenant_claim,
        customer_claim=settings.oidc_customer_claim,
        roles_claim=settings.oidc_roles_claim,
        role_map=settings.oidc_roles,
    )


class GatewayApp:
    """The ASGI application: the MCP edge (which hands ``/admin/`` to the admin API) plus the lifespan that
    wires it to the store and shared state."""

    def __init__(self, settings: Settings, store: Store, keyring: Keyring) -> None:
        self.settings = settings
        self.store = store
        self.replica_id = secrets.token_hex(6)
        self.state = open_state(settings.redis_url or None, prefix=settings.redis_prefix)
        approvals = Approvals(store, self.state, ttl=settings.approval_ttl_seconds, wait=settings.approval_wait_seconds)
        self.gateway = Gateway(
            keyring,
            self.state,
            server_info=SERVER_INFO,
            replica_id=self.replica_id,
            call_deadline=settings.call_timeout_seconds,
            oidc=deployment_provider(settings),
            allow_private=settings.upstream_allow_private,
            stdio_user=default_stdio_user(settings.stdio_user),
            approvals=approvals,
            worker_limits=Limits(settings.worker_concurrency, settings.worker_queue, settings.worker_queue_seconds),
            connector_tokens=lambda tenant, name: StoredToken(store, tenant, name),
            require_subscription=settings.require_subscription,
            audit=AuditWriter(store, linger=settings.audit_linger_ms / 1000),
        )
        self.sessions = SessionState(self.state)
        self.edge = Edge(
            self.gateway.chain,
            self.gateway,
            self.sessions,
            SessionCodec(keyring),
            host_allowed=settings.host_allowed,
            origin_allowed=settings.origin_allowed,
            max_body_bytes=settings.max_body_bytes,
            body_timeout_seconds=settings.body_timeout_seconds,
            public_url=settings.public_url,
            admin=build_admin(self.gateway, store, settings),
        )
        self.control = ControlPlane(store)
        self._reported = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.edge(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            await self.startup()
        except Exception as exc:
            log.exception("gateway failed to start")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await self.shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    async def startup(self) -> None:
        await self.state.start()
        log.info("shared state: %s (replica %s)", self.state.backend, self.replica_id)
        await self.gateway.start()
        await self.sessions.start()
        self.state.on_resync(self._reload_ended_sessions)

        async def changed(snapshot: ControlSnapshot) -> None:
            self.gateway.apply(snapshot)
            if closed := self.edge.revalidate(self.gateway.identities.still_valid):
                log.info("closed %d stream(s) whose credential was revoked or expired", closed)

        self.control.on_change(changed)
        await self.control.start()
        self.gateway.apply(self.control.snapshot)
        self.edge.on_session_ended = self.store.end_session
        await self._reload_ended_sessions()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._heartbeat()))
        self._tasks.append(loop.create_task(self._every(PROBE_SECONDS / 2, self._probe)))
        self._tasks.append(loop.create_task(self._every(1.0, self._expire_streams)))
        self._tasks.append(loop.create_task(self._log_identity_providers()))
        self._tasks.append(loop.create_task(self._every(PURGE_SECONDS, self._purge_ended_sessions)))

    async def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.control.stop()
        with contextlib.suppress(Exception):
            await self._beat()
        await self.gateway.close()
        await self.sessions.close()
        await self.state.close()
        await self.store.close()

    async def _reload_ended_sessions(self) -> None:
        """The durable record of ended sessions: at start, and when broadcasts may have been missed."""
        seq = 0
        while True:
            ended, seq = await self.store.ended_sessions_after(seq)
            self.sessions.reload(ended)
            if len(ended) < 1000:
                return

    async def _purge_ended_sessions(self) -> None:
        await self.store.purge_ended_sessions(datetime.now(UTC) - timedelta(seconds=MAX_AGE_SECONDS))

    async def _log_identity_providers(self) -> None:
        """Say once, at start, what is wrong with any identity provider: a misconfigured one never fails silently."""
        try:
            checked = await self.gateway.check_identity_providers()
        except Exception:
            log.exception("could not check the identity providers")
            return
        for label, findings in checked.items():
            problems = [f"{f.check}: {f.message}" for f in findings if not f.ok]
            if problems:
                log.warning("identity provider of %s: %s", label, "; ".join(problems))
            else:
                log.info("identity provider of %s: ok", label)

    async def _expire_streams(self) -> None:
        """Streams outlive nothing that proved who opened them: an expired credential's are closed."""
        self.edge.revalidate(self.gateway.identities.still_valid)

    async def _probe(self) -> None:
        self.gateway.probe()

    async def _every(self, seconds: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic %s failed", job.__name__)

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat failed")
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _beat(self) -> None:
        routed = self.gateway.metrics.calls_routed
        delta, self._reported = routed - self._reported, routed
        health: list[UpstreamHealth] = []
        for tenant_id, instances in self.gateway.health().items():
            for name, h in instances.items():
                last_ok = datetime.fromtimestamp(h.last_ok_at, UTC) if h.last_ok_at else None
                health.append(UpstreamHealth(tenant_id, name, h.state, h.error, last_ok, h.tools, h.fix))
        await self.store.heartbeat(self.replica_id, self.settings.public_url, delta, health)
        if used := self.gateway.identities.take_used():
            await self.store.tokens_used(used)


@contextlib.asynccontextmanager
async def build(settings: Settings) -> AsyncIterator[GatewayApp]:
    """A started gateway app (for tests and embedding) on a migrated store; stopped on exit."""
    keyring = Keyring.load(settings)
    store = Store.from_settings(settings)
    await store.migrate()
    app = GatewayApp(settings, store, keyring)
    await app.startup()
    try:
        yield app
    finally:
        await app.shutdown()


def run(settings: Settings, sock: socket.socket | None = None) -> None:
    """Serve until interrupted. The store must be migrated: ``msplex serve`` does that first.

    ``sock`` is the listening socket (``msplex.httpserver.listen``); ``msplex serve`` binds it before
    touching the store, so a busy port fails fast and cleanly. Exits with status 3, as
    ``uvicorn.run`` does, when the app fails to start.
    """
    configure_logging(settings)
    if sock is None:
        sock = listen(settings.host, settings.port)
    keyring = Keyring.load(settings)
    store = Store.from_settings(settings)
    app = GatewayApp(settings, store, keyring)
    protocol = guarded_protocol(
        header_timeout=settings.header_timeout_seconds, max_connections=settings.max_connections
    )
    config = uvicorn.Config(
        app,
        http=protocol,
        loop="uvloop",
        lifespan="on",
        access_log=False,
        log_config=None,  # configure_logging's handler (with timestamps) prints uvicorn's lines too
        log_level=settings.log_level,
        server_header=False,
        proxy_headers=False,
        date_header=False,
        backlog=BACKLOG,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    log.info("msplex %s serving %s", __version__, settings.public_url)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn has shut down gracefully already
        server.run(sockets=[sock])
    if not server.started:
        sys.exit(3)
