"""Stage 1: authenticate the principal.

A bearer token is looked up by its digest in the directory (a control-plane
snapshot: no database round trip). No token means an anonymous principal,
which later stages admit only where anonymous access is allowed. A request on
a legacy session must come from the principal that opened it; for anyone else
the session does not exist.
"""

from __future__ import annotations

from typing import ClassVar

from msplex.call import Call, Principal
from msplex.chain.stage import Applies
from msplex.directory import Directory
from msplex.errors import Code, Denied, Stage

__all__ = ["Authenticate"]

ANONYMOUS = Principal(kind="anonymous", tenant_id=None)


class Authenticate:
    name: ClassVar[Stage] = Stage.AUTHENTICATE
    applies: ClassVar[Applies] = Applies.EVERY_CALL

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def __call__(self, call: Call) -> Call:
        if call.credential is None:
            principal = ANONYMOUS
        else:
            token = self._directory.token(call.credential.digest)
            if token is None:
                raise Denied(self.name, Code.UNAUTHENTICATED, "the bearer token is unknown or revoked")
            principal = Principal(kind="token", tenant_id=token.tenant_id, token_id=token.token_id)
        if call.session is not None and call.session.principal != principal.key:
            raise Denied(self.name, Code.SESSION_NOT_FOUND, "Session not found")
        return call.learned(principal=principal)
