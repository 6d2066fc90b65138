"""Stage 12: write audit and metering, for every outcome, before the response leaves.

Run by ``Chain.run`` in its ``finally`` (after dispatch, or after the stage that
refused or held the call). Audited: every call that names an item (``tools/call``,
``prompts/get``, ``resources/read``, ...) whatever its outcome, and every refusal
or hold of any method; a successful list or handshake is not. The record goes
to the group-commit writer (``msplex.audit.writer``) and the call waits for its
batch's commit, so a client never holds a response whose record is not durable:
if the record cannot be written, the call is answered with an internal error
instead. A call whose caller is gone (cancelled) is recorded without waiting.
Usage counters are written in the same transaction as the records. The chain
announces an audited call as it starts (``expect``), so the writer can wait for
the records under way and commit them together.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, ClassVar

from msplex.audit.entry import entry_of
from msplex.audit.writer import AuditUnavailable
from msplex.chain.stages.resolve_target import TARGETED
from msplex.errors import Code, RpcError, Stage

if TYPE_CHECKING:
    from msplex.audit.writer import AuditWriter
    from msplex.call import Call
    from msplex.chain import Outcome
    from msplex.directory import Directory

__all__ = ["AUDITED", "WriteAudit"]

log = logging.getLogger("msplex.audit")

_UNAUDITED = "internal error in the gateway: the call could not be audited"
AUDITED = TARGETED
"""Methods audited whatever their outcome; any other method is audited when refused or held."""


class WriteAudit:
    name: ClassVar[Stage] = Stage.WRITE_AUDIT

    def __init__(self, writer: AuditWriter | None, directory: Directory) -> None:
        self._writer = writer
        self._directory = directory

    def expect(self, method: str) -> bool:
        """Announce a call about to run; ``True``: its record will come (pass it to ``__call__``)."""
        if self._writer is None or method not in AUDITED:
            return False
        self._writer.expect()
        return True

    async def __call__(self, outcome: Outcome, expected: bool = False) -> None:
        writer = self._writer
        if writer is None:
            return
        if expected:
            writer.arrive()
        elif outcome.error is None and outcome.call.method not in AUDITED:
            return
        if isinstance(outcome.error, asyncio.CancelledError):  # nobody waits for an answer: never raise here
            try:
                writer.post(entry_of(outcome, writer.keyring, self._tenant_of))
            except Exception:
                log.exception("could not audit a cancelled %s", outcome.call.method)
            return
        try:
            await writer.submit(entry_of(outcome, writer.keyring, self._tenant_of))
        except AuditUnavailable:
            raise RpcError(Code.INTERNAL, _UNAUDITED) from None
        except Exception:
            log.exception("could not audit %s", outcome.call.method)
            raise RpcError(Code.INTERNAL, _UNAUDITED) from None

    def _tenant_of(self, call: Call) -> str | None:
        """The tenant whose endpoint a call came to, for one refused before its tenant was resolved."""
        if call.tenant_slug is not None:
            tenant = self._directory.tenant_by_slug(call.tenant_slug)
            return tenant.id if tenant is not None else None
        if call.entity_slug is not None:
            entity = self._directory.entity(call.entity_slug)
            return entity.tenant_id if entity is not None else None
        return None
