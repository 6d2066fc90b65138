"""An upstream MCP server as a ``Connector``: a cleared call executed over the pooled session.

Names and URIs are translated back to the upstream's own, the call gets the
deadline ``MSPLEX_CALL_TIMEOUT_SECONDS`` (then -32001, and the upstream request
is cancelled), the eras are bridged (``bridge``), and everything relayed back
is redacted of the credentials the gateway injected toward this upstream.
Upstream failures become ``RpcError``s here and are reported to the provider,
which owns the upstream's health.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from msplex.call import Call, Peer, Target
from msplex.connectors.upstream.bridge import forward
from msplex.connectors.upstream.credentials import CredentialTable
from msplex.connectors.upstream.parked import Parked
from msplex.connectors.upstream.redact import redact, redact_text
from msplex.errors import Code, Relayed, RpcError
from msplex.protocol.jsonrpc import JSON
from msplex.upstream import UpstreamError, UpstreamPool

if TYPE_CHECKING:
    from msplex.connectors.upstream.provider import UpstreamProvider

__all__ = ["ConnectorServices", "UpstreamConnector"]


@dataclass(frozen=True, slots=True)
class ConnectorServices:
    """What every upstream connector of the gateway shares."""

    pool: UpstreamPool
    credentials: CredentialTable
    parked: Parked
    deadline: float
    """Seconds an upstream may take to answer one forwarded request."""


class UpstreamConnector:
    def __init__(self, name: str, provider: UpstreamProvider, services: ConnectorServices) -> None:
        self.name = name
        self._provider = provider
        self._services = services

    async def execute(self, call: Call) -> JSON:
        target = call.target
        assert target is not None  # resolve_target ran
        method = call.method
        if method in ("resources/subscribe", "resources/unsubscribe"):
            return await self._toggle(call, target, method == "resources/subscribe")
        spec = self._provider.spec(self.name)
        if spec is None:
            raise RpcError(Code.NOT_FOUND, f"upstream {self.name!r} is no longer registered")
        services = self._services
        secrets = services.credentials.secrets(spec.key)
        peer: Peer = _RedactingPeer(call.peer, secrets) if secrets else call.peer
        try:
            async with asyncio.timeout(services.deadline):
                session = await services.pool.get(spec)
                result = await forward(session, call, method, _upstream_params(call, target), services.parked, peer)
        except TimeoutError:
            raise RpcError(
                Code.TIMEOUT, f"upstream {self.name!r} did not answer within {services.deadline:g} s"
            ) from None
        except UpstreamError as exc:
            self._provider.failed(self.name, exc)
            message = f"upstream {self.name!r} failed: {str(exc)[:300] or type(exc).__name__}"
            raise RpcError(Code.UPSTREAM_FAILED, redact_text(message, secrets)) from None
        except Relayed as exc:
            if not secrets:
                raise
            raise Relayed(exc.rpc_code, redact_text(exc.message, secrets), redact(exc.data, secrets)) from None
        self._provider.contacted(self.name)
        if method == "resources/read":
            result = _rewrite_contents(result, target.name, target.public)
        return redact(result, secrets)

    async def subscribe(self, uri: str, on: bool) -> None:
        """Ask the upstream to start (or stop) sending updates of ``uri`` (its own URI)."""
        spec = self._provider.spec(self.name)
        if spec is None:
            return
        session = await self._services.pool.get(spec)
        if on:
            await session.subscribe_resource(uri)
        else:
            await session.unsubscribe_resource(uri)

    async def _toggle(self, call: Call, target: Target, on: bool) -> JSON:
        subscriptions = self._provider.subscriptions
        if subscriptions is not None:
            if on:
                await subscriptions.hold(target, call.caller)
            else:
                await subscriptions.release(target, call.caller)
        return {}


class _RedactingPeer:
    """The client, as an upstream with injected credentials may reach it: redacted both ways out."""

    __slots__ = ("_peer", "_secrets", "can_request")

    def __init__(self, peer: Peer, secrets: tuple[str, ...]) -> None:
        self._peer = peer
        self._secrets = secrets
        self.can_request = peer.can_request

    async def notify(self, message: JSON) -> None:
        await self._peer.notify(redact(message, self._secrets))

    async def request(self, method: str, params: JSON | None) -> JSON:
        return await self._peer.request(method, redact(params, self._secrets))


def _upstream_params(call: Call, target: Target) -> JSON:
    """The call's params with the public name (or URI) replaced by the upstream's own."""
    params = call.params
    if call.method == "completion/complete":
        ref = params.get("ref") or {}
        field = "uri" if ref.get("type") == "ref/resource" else "name"
        return {**params, "ref": {**ref, field: target.name}}
    field = "uri" if target.kind == "resource" else "name"
    return {**params, field: target.name}


def _rewrite_contents(result: JSON, upstream_uri: str, public_uri: str) -> JSON:
    """``resources/read`` contents carry URIs: give them back under the public prefix."""
    if upstream_uri == public_uri:
        return result
    contents = result.get("contents")
    if not isinstance(contents, list):
        return result
    prefix = public_uri[: len(public_uri) - len(upstream_uri)]
    rewritten: list[Any] = [
        {**c, "uri": prefix + c["uri"]} if isinstance(c, dict) and isinstance(c.get("uri"), str) else c
        for c in contents
    ]
    return {**result, "contents": rewritten}
