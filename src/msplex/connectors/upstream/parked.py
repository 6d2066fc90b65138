"""Upstream requests held open while a 2026-07-28 client answers an input request, on any replica.

A 2026-07-28 client cannot be asked anything mid-request; it gets an
``InputRequiredResult`` and retries with the answers. A handshake-era upstream
asks mid-request, so its request stays open (*parked*) on the replica that
sent it, the owner. The client's ``requestState`` is an encrypted reference
bound to its tenant (a replay on another tenant does not decrypt and touches
nothing). The retry may reach any replica: that one claims the parked call
(atomically, so a replayed retry finds nothing), hands the answers to the owner
through the shared state and waits there for the next outcome: the upstream's
result, its error, or further questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from msplex import protocol
from msplex.crypto import Keyring
from msplex.errors import Code, Relayed, RpcError
from msplex.protocol.jsonrpc import JSON, error
from msplex.state import SharedState
from msplex.upstream import UpstreamError

__all__ = ["PARK_SECONDS", "Parked"]

log = logging.getLogger("msplex.parked")

PARK_SECONDS = 300.0
_PREFIX = "msplex1."
_AAD = b"msplex-parked-call\x00"
Ask = Callable[[JSON], Awaitable[JSON]]


def _invalid() -> RpcError:
    return RpcError(Code.INVALID_PARAMS, "Invalid or expired requestState")


@dataclass
class _ParkedCall:
    task: asyncio.Task[JSON]
    asks: asyncio.Queue[tuple[JSON, asyncio.Future[JSON]]] = field(default_factory=asyncio.Queue)
    pending: dict[str, asyncio.Future[JSON]] = field(default_factory=dict)
    server: asyncio.Task[None] | None = None


class Parked:
    def __init__(self, keyring: Keyring, state: SharedState) -> None:
        self._keyring = keyring
        self._state = state
        self._calls: dict[str, _ParkedCall] = {}

    @staticmethod
    def is_ours(request_state: Any) -> bool:
        return isinstance(request_state, str) and request_state.startswith(_PREFIX)

    async def start(self, tenant_id: str, run: Callable[[Ask], Awaitable[JSON]]) -> JSON:
        """Run ``run(ask)`` (the upstream request); its result, or an ``InputRequiredResult`` once it asks."""
        parked_ref: list[_ParkedCall] = []

        async def ask(request: JSON) -> JSON:
            future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
            await parked_ref[0].asks.put((request, future))
            return await future

        parked = _ParkedCall(task=asyncio.ensure_future(run(ask)))
        parked_ref.append(parked)
        try:
            requests = await self._next(parked)
        except asyncio.CancelledError:
            parked.task.cancel()
            raise
        if requests is None:
            return parked.task.result()
        ref = secrets.token_urlsafe(12)
        self._calls[ref] = parked
        await self._state.put(self._key(ref, "open"), 1, ttl=PARK_SECONDS)
        parked.server = asyncio.ensure_future(self._serve(ref, parked))
        return self._input_required(ref, tenant_id, requests)

    async def resume(self, tenant_id: str, request_state: str, responses: Any) -> JSON:
        """Feed a retry's answers to the parked request, wherever it is parked; the next outcome."""
        try:
            ref = self._keyring.decrypt(request_state[len(_PREFIX) :], aad=_AAD + tenant_id.encode()).decode()
        except Exception:
            raise _invalid() from None
        if await self._state.take(self._key(ref, "open")) is None:
            raise _invalid()
        await self._state.put(
            self._key(ref, "answers"), responses if isinstance(responses, dict) else {}, ttl=PARK_SECONDS
        )
        outcome = await self._state.take(self._key(ref, "outcome"), timeout=PARK_SECONDS)
        if not isinstance(outcome, dict):
            raise _invalid()
        if isinstance(requests := outcome.get("input"), dict):
            return self._input_required(ref, tenant_id, requests)
        if isinstance(err := outcome.get("error"), dict):
            code = err.get("code")
            rpc_code = code if isinstance(code, int) and not isinstance(code, bool) else protocol.INTERNAL_ERROR
            raise Relayed(rpc_code, str(err.get("message")), err.get("data"))
        result = outcome.get("result")
        return result if isinstance(result, dict) else {}

    async def close(self) -> None:
        calls, self._calls = list(self._calls.values()), {}
        for parked in calls:
            parked.task.cancel()
            if parked.server is not None:
                parked.server.cancel()
        await asyncio.gather(*(p.task for p in calls), return_exceptions=True)

    # the owner's side ------------------------------------------------------------

    async def _serve(self, ref: str, parked: _ParkedCall) -> None:
        try:
            while True:
                answers = await self._state.take(self._key(ref, "answers"), timeout=PARK_SECONDS)
                if answers is None:
                    log.info("a parked upstream request expired unanswered")
                    return
                self._feed(parked, answers)
                try:
                    async with asyncio.timeout(PARK_SECONDS):
                        requests = await self._next(parked)
                except TimeoutError:
                    outcome: JSON = {"error": error(protocol.REQUEST_TIMEOUT, "the upstream did not answer in time")}
                    requests = None
                else:
                    outcome = {"input": requests} if requests is not None else _outcome(parked.task)
                if requests is not None:
                    await self._state.put(self._key(ref, "open"), 1, ttl=PARK_SECONDS)
                await self._state.put(self._key(ref, "outcome"), outcome, ttl=PARK_SECONDS)
                if requests is None:
                    return
        finally:
            self._calls.pop(ref, None)
            parked.task.cancel()
            with contextlib.suppress(Exception):
                await self._state.delete(self._key(ref, "open"))

    @staticmethod
    def _feed(parked: _ParkedCall, answers: Any) -> None:
        if not isinstance(answers, dict):
            answers = {}
        for key, future in parked.pending.items():
            if future.done():
                continue
            if key in answers:
                future.set_result({"result": answers[key]})
            else:
                future.set_result({"error": error(protocol.INVALID_PARAMS, "the client gave no answer")})
        parked.pending.clear()

    @staticmethod
    async def _next(parked: _ParkedCall) -> dict[str, JSON] | None:
        """Wait for the upstream to finish (``None``) or to ask (its requests, keyed ``r1``, ``r2``...)."""
        ask = asyncio.ensure_future(parked.asks.get())
        try:
            done, _ = await asyncio.wait({parked.task, ask}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            ask.cancel()
            raise
        if parked.task in done:
            ask.cancel()
            return None
        requests: dict[str, JSON] = {}
        while True:
            request, future = ask.result()
            key = f"r{len(parked.pending) + 1}"
            parked.pending[key] = future
            requests[key] = {"method": request.get("method"), "params": request.get("params") or {}}
            if parked.asks.empty():
                return requests
            ask = asyncio.ensure_future(parked.asks.get())
            await asyncio.sleep(0)

    def _input_required(self, ref: str, tenant_id: str, requests: JSON) -> JSON:
        state = _PREFIX + self._keyring.encrypt(ref.encode(), aad=_AAD + tenant_id.encode())
        return {"resultType": "input_required", "inputRequests": requests, "requestState": state}

    @staticmethod
    def _key(ref: str, part: str) -> str:
        return f"parked:{ref}:{part}"


def _outcome(task: asyncio.Task[JSON]) -> JSON:
    """A finished upstream request as something another replica can be handed."""
    try:
        return {"result": task.result()}
    except RpcError as exc:
        return {"error": exc.to_wire()}
    except UpstreamError as exc:
        return {"error": error(protocol.INTERNAL_ERROR, f"the upstream failed: {str(exc)[:300]}")}
    except (asyncio.CancelledError, Exception):
        log.exception("a parked upstream request failed")
        return {"error": error(protocol.INTERNAL_ERROR, "internal error in the gateway")}
