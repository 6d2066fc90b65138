"""The enforcement chain: an ordered tuple of stages, then dispatch.

    1  authenticate         who is calling (a token, an OIDC identity, or nobody); a session stays with its opener
    2  resolve_tenant       which one tenant (and entity) the call is bound to, and who is looking (the viewer)
    3  resolve_customer     which one customer the call acts for: the identity's own, or one a member names
    4  load_entitlements    the tenant's plan and subscription, from the control-plane snapshot
    5  verify_subscription  the subscription is active, trialing or within its past-due grace
       resolve_target       which connector instance and item the call is for, among those the viewer may see
    6  verify_entitlement   the plan entitles that connector (vendor kind or upstream name)
    7  verify_readiness     that connector instance is ready (configured, credentials valid, healthy)
    8  evaluate_policy      the tenant's tool policy and RBAC rules allow, deny or ask for an approval (names the rule)
    9  check_quota          the tenant's, customer's, caller's and tool's quotas admit it (or count it as overage)
   10  check_approval       a call that needs a person's approval is held until it has one (and runs once)
   11  dispatch             execute it on a worker of its connector instance (or answer a list)
   12  write_audit          record the outcome (denial or success) and meter it, durably, before the response leaves

Each stage takes the ``Call`` and returns it with new facts or raises
``Denied(stage, code, reason)``; nothing reaches a connector unless every stage
returned. ``resolve_target`` runs after the tenant-wide checks (3 to 5), so a
tenant whose subscription is refused learns that, not whether a name exists,
and before everything that reads the target (6 on). Stages that refuse by item
(``Sieve``: 6, 7) and the tool policy (``Access.listed``) also filter the lists
dispatch answers, so a list never shows what a call would refuse.
Stages declare whether they clear every call or only dispatched ones
(``Applies``); the gateway answers ``initialize``, ``server/discover``,
``subscriptions/listen`` and the session-era stream and DELETE itself after the
``EVERY_CALL`` stages. ``Chain.run`` is the one entry point: it runs inside
``try``/``finally`` and hands every outcome, denial or success, to the
observers (metrics), then awaits ``WriteAudit`` (12), which returns once the
call's audit record is committed (or fails the call if it cannot be). A stage that answers the
call itself (``Held``: an approval is pending) ends it with that result, not
dispatched. Anything unexpected fails closed as an internal error that tells
the caller nothing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from msplex.approvals import Approvals
from msplex.call import Call
from msplex.catalogue.tenant import TenantCatalogue
from msplex.chain.stage import Applies, Sieve, Stage
from msplex.chain.stages.authenticate import Authenticate
from msplex.chain.stages.check_approval import CheckApproval
from msplex.chain.stages.check_quota import CheckQuota
from msplex.chain.stages.dispatch import Dispatch
from msplex.chain.stages.evaluate_policy import EvaluatePolicy
from msplex.chain.stages.load_entitlements import LoadEntitlements
from msplex.chain.stages.resolve_customer import ResolveCustomer
from msplex.chain.stages.resolve_target import ResolveTarget
from msplex.chain.stages.resolve_tenant import ResolveTenant
from msplex.chain.stages.verify_entitlement import VerifyEntitlement
from msplex.chain.stages.verify_readiness import VerifyReadiness
from msplex.chain.stages.verify_subscription import VerifySubscription
from msplex.chain.stages.write_audit import WriteAudit
from msplex.directory import Directory
from msplex.entitlements import Entitlements
from msplex.errors import Code, Held, RpcError
from msplex.errors import Stage as StageName
from msplex.identity.principals import Identities
from msplex.policy import Policy
from msplex.protocol.jsonrpc import JSON
from msplex.quota import Quotas
from msplex.state import SharedState
from msplex.workers import Workers

if TYPE_CHECKING:
    from msplex.audit.writer import AuditWriter

__all__ = ["STAGES", "Chain", "Observer", "Outcome", "assemble"]

log = logging.getLogger("msplex.chain")

STAGES: tuple[type[Stage], ...] = (
    Authenticate,  # 1
    ResolveTenant,  # 2
    ResolveCustomer,  # 3
    LoadEntitlements,  # 4
    VerifySubscription,  # 5
    ResolveTarget,
    VerifyEntitlement,  # 6
    VerifyReadiness,  # 7
    EvaluatePolicy,  # 8
    CheckQuota,  # 9
    CheckApproval,  # 10
)
"""The stages in order; ``Dispatch`` (11) always follows the last one, and ``WriteAudit`` (12) ends every call."""


@dataclass(slots=True)
class Outcome:
    """What became of one call: the facts it reached, whether it cleared, and how it ended."""

    call: Call
    dispatched: bool = False
    """Every stage cleared it and dispatch began (for gateway-answered calls: every stage that applies)."""
    error: BaseException | None = None
    """How it ended if not with a result: a ``Denied``/``RpcError``, or ``Held`` (answered by a stage)."""
    result: JSON | None = None
    stage: str = StageName.AUTHENTICATE
    """The stage the call reached (the one running when it ended; ``dispatch`` once dispatched)."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0

    @property
    def latency_us(self) -> int:
        return max(0, int(((self.finished or time.perf_counter()) - self.started) * 1e6))


Observer = Callable[[Outcome], None]
"""Sees every outcome, in the ``finally``; must be cheap and must not raise."""


def assemble(
    *,
    identities: Identities,
    directory: Directory,
    catalogues: Callable[[str], TenantCatalogue | None],
    entitlements: Entitlements,
    observers: Sequence[Observer] = (),
    approvals: Approvals | None = None,
    workers: Workers | None = None,
    policies: Callable[[str], Policy | None] = lambda tenant_id: None,
    quotas: Callable[[str], Quotas | None] = lambda tenant_id: None,
    state: SharedState | None = None,
    audit: AuditWriter | None = None,
) -> Chain:
    """Build the chain: each stage gets exactly the services it needs, in ``STAGES`` order."""
    stages: tuple[Stage, ...] = (
        Authenticate(identities),
        ResolveTenant(directory),
        ResolveCustomer(directory),
        LoadEntitlements(entitlements),
        VerifySubscription(),
        ResolveTarget(catalogues),
        VerifyEntitlement(),
        VerifyReadiness(catalogues),
        EvaluatePolicy(policies),
        CheckQuota(quotas, state),
        CheckApproval(approvals),
    )
    sieves = tuple(s for s in stages if isinstance(s, Sieve))
    dispatch = Dispatch(catalogues, workers, approvals, sieves=sieves)
    return Chain(stages, dispatch, observers, WriteAudit(audit, directory))


class Chain:
    def __init__(
        self,
        stages: Sequence[Stage],
        dispatch: Dispatch,
        observers: Sequence[Observer] = (),
        audit: WriteAudit | None = None,
    ) -> None:
        if [type(s) for s in stages] != list(STAGES):
            raise ValueError("the chain's stages must be STAGES, in order")
        self.stages = tuple(stages)
        self._answered = tuple(s for s in stages if s.applies is Applies.EVERY_CALL)
        self._dispatch = dispatch
        self._observers = tuple(observers)
        self.audit = audit

    async def run(self, call: Call, *, answered: bool = False) -> tuple[Call, JSON | None]:
        """Clear ``call`` and dispatch it; for a method the gateway answers itself (``answered``),
        only clear it. Returns the call with its facts and the result (``None`` when answered)."""
        outcome = Outcome(call)
        expected = self.audit is not None and self.audit.expect(call.method)
        try:
            with _fail_closed(call.method):
                for stage in self._answered if answered else self.stages:
                    outcome.stage = stage.name
                    call = await stage(call)
                    outcome.call = call
                outcome.dispatched = True
                if answered:
                    return call, None
                outcome.stage = StageName.DISPATCH
                outcome.result = result = await self._dispatch(call)
                return call, result
        except Held as held:
            outcome.error = held
            return call, held.result
        except BaseException as exc:
            outcome.error = exc
            raise
        finally:
            outcome.finished = time.perf_counter()
            for observe in self._observers:
                observe(outcome)
            if self.audit is not None:
                await self.audit(outcome, expected)


@contextlib.contextmanager
def _fail_closed(method: str) -> Iterator[None]:
    """Anything but a typed refusal becomes an internal error that tells the caller nothing."""
    try:
        yield
    except (RpcError, Held):
        raise
    except Exception:
        log.exception("unexpected failure in the chain for %s", method)
        raise RpcError(Code.INTERNAL, "internal error in the gateway") from None
