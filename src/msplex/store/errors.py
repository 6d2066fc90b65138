"""Store failures, typed so callers (CLI, admin API) can phrase the fix.

StoreError
 ├── NotFound        the named tenant/upstream/token does not exist (in that tenant)
 ├── AlreadyExists   a unique name is taken
 ├── Conflict        a concurrent change won; retrying is safe
 ├── InvalidInput    a value fails validation; ``field`` names the culprit
 └── SecretUnavailable  a stored secret does not open with the configured keys

Messages name identifiers only; they never carry a header value or a token.
"""

from __future__ import annotations

__all__ = ["AlreadyExists", "Conflict", "InvalidInput", "NotFound", "SecretUnavailable", "StoreError"]


class StoreError(Exception):
    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    def __init__(self, kind: str, key: str, *, tenant: str | None = None) -> None:
        where = f" in tenant '{tenant}'" if tenant else ""
        super().__init__(f"{kind} '{key}' does not exist{where}")
        self.kind, self.key, self.tenant = kind, key, tenant


class AlreadyExists(StoreError):
    def __init__(self, kind: str, key: str, *, tenant: str | None = None) -> None:
        where = f" in tenant '{tenant}'" if tenant else ""
        super().__init__(f"{kind} '{key}' already exists{where}")
        self.kind, self.key, self.tenant = kind, key, tenant


class Conflict(StoreError):
    def __init__(self) -> None:
        super().__init__("a concurrent change conflicted with this one; try again")


class InvalidInput(StoreError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field}: {reason}")
        self.field, self.reason = field, reason


class SecretUnavailable(StoreError):
    def __init__(self, tenant: str, upstream: str) -> None:
        super().__init__(
            f"the headers of upstream '{upstream}' in tenant '{tenant}' cannot be decrypted with the "
            "configured keys; put the old key back into MSPLEX_SECRET_KEY after the primary, "
            "or remove and re-add the upstream"
        )
