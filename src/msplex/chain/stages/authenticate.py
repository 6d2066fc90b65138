"""Stage 1: authenticate the principal.

A personal access token is looked up by its digest in the directory (no
database round trip); a JWT is verified against the identity provider (its
verdict cached until it expires); no credential means an anonymous principal,
which later stages admit only where anonymous access is allowed. A request on a
legacy session must come from the principal that opened it; for anyone else the
session does not exist.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import ClassVar

from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.errors import Code, Denied, Stage
from msplex.identity.principals import Identities, Unauthenticated

__all__ = ["Authenticate"]

log = logging.getLogger("msplex.identity")
_REMEMBERED = 10_000


class Authenticate:
    name: ClassVar[Stage] = Stage.AUTHENTICATE
    applies: ClassVar[Applies] = Applies.EVERY_CALL

    def __init__(self, identities: Identities) -> None:
        self._identities = identities
        self._warned: OrderedDict[str, None] = OrderedDict()

    async def __call__(self, call: Call) -> Call:
        try:
            principal = await self._identities.resolve(call.credential, call.tenant_slug)
        except Unauthenticated as exc:
            self._warn(call, exc.description)
            raise Denied(self.name, Code.UNAUTHENTICATED, exc.description, challenge="invalid_token") from None
        if call.session is not None and call.session.principal != principal.key:
            raise Denied(self.name, Code.SESSION_NOT_FOUND, "Session not found")
        return call.learned(principal=principal)

    def _warn(self, call: Call, why: str) -> None:
        """One warning line per rejected credential (never the credential): an operator sees a misconfigured
        client or identity provider without a client's retries flooding the log."""
        digest = call.credential.digest if call.credential is not None else ""
        if digest in self._warned:
            return
        self._warned[digest] = None
        if len(self._warned) > _REMEMBERED:
            self._warned.popitem(last=False)
        where = (
            f"tenant {call.tenant_slug}"
            if call.tenant_slug
            else f"entity {call.entity_slug}"
            if call.entity_slug
            else "/mcp"
        )
        log.warning("rejected a bearer credential on %s: %s", where, why)
