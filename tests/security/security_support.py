"""Types shared by the security probes (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from support.gateway import GatewayProcess, ServerProcess

__all__ = ["SECRET", "Mirror", "Tenants"]

SECRET = "s3cr3t-upstream-credential-9f1c"


@dataclass
class Mirror:
    """Records the Authorization headers it received."""

    port: int = 0
    seen: list[str] = field(default_factory=list)


@dataclass
class Tenants:
    gw: GatewayProcess
    acme: str
    beta: str
    ev: ServerProcess
    mirror: Mirror

    def url(self, tenant: str | None) -> str:
        return self.gw.url(tenant)
