"""Stage 1: authenticate the principal.

A personal access token is looked up by its digest in the directory (no
database round trip); a JWT is verified against the identity provider (its
verdict cached until it expires); no credential means an anonymous principal,
which later stages admit only where anonymous access is allowed. A request on a
legacy session must come from the principal that opened it; for anyone else the
session does not exist.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call
from msplex.chain.stage import Applies
from msplex.errors import Code, Denied, Stage
from msplex.identity.principals import Identities, Unauthenticated

__all__ = ["Authenticate"]


class Authenticate:
    name: ClassVar[Stage] = Stage.AUTHENTICATE
    applies: ClassVar[Applies] = Applies.EVERY_CALL

    def __init__(self, identities: Identities) -> None:
        self._identities = identities

    async def __call__(self, call: Call) -> Call:
        try:
            principal = await self._identities.resolve(call.credential, call.tenant_slug)
        except Unauthenticated as exc:
            raise Denied(self.name, Code.UNAUTHENTICATED, exc.description, challenge="invalid_token") from None
        if call.session is not None and call.session.principal != principal.key:
            raise Denied(self.name, Code.SESSION_NOT_FOUND, "Session not found")
        return call.learned(principal=principal)
