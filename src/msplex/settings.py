"""The one settings object. Every field is read from a flat ``MSPLEX_*`` variable.

Fields are grouped by the component that reads them (serving, HTTP edge
guards, storage, secrets); the env names stay flat
(``MSPLEX_HOST``, ``MSPLEX_DATABASE_URL``, ...) because operators type them.
List fields take a comma-separated string (``MSPLEX_ALLOWED_HOSTS=a,b:*``) or
a JSON array.

Host and origin patterns: an exact value, or a value ending in ``:*`` which
matches that host with any port. When ``allowed_hosts``/``allowed_origins``
are not set explicitly, the host of ``public_url`` is allowed as well, so a
gateway published under its own name works without a second setting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "pattern_matches"]

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_DEFAULT_HOSTS = [h + p for h in _LOCAL_HOSTS for p in ("", ":*")]
_DEFAULT_ORIGINS = [f"{s}://{h}{p}" for s in ("http", "https") for h in _LOCAL_HOSTS for p in ("", ":*")]

StrList = Annotated[list[str], NoDecode]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def pattern_matches(value: str, patterns: list[str]) -> bool:
    """Whether ``value`` (a Host header or an Origin) matches one of ``patterns``.

    Comparison is case-insensitive; ``X:*`` matches ``X`` followed by a port.
    """
    value = value.strip().lower()
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if value.startswith(base + ":") and value[len(base) + 1 :].isdigit():
                return True
        elif value == pattern:
            return True
    return False


class Settings(BaseSettings):
    """MSPlex configuration; construct with keyword arguments in tests."""

    model_config = SettingsConfigDict(env_prefix="MSPLEX_", extra="ignore", validate_default=True)

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str = Field(default="", description="Base URL clients use; default http://{host}:{port}")
    log_level: LogLevel = "info"
    log_sql: bool = Field(default=False, description="Let database and driver loggers below WARNING through")

    # HTTP edge guards
    allowed_hosts: StrList = Field(default_factory=lambda: list(_DEFAULT_HOSTS))
    allowed_origins: StrList = Field(default_factory=lambda: list(_DEFAULT_ORIGINS))
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    call_timeout_seconds: float = Field(default=300.0, gt=0, description="Deadline of one upstream call")
    upstream_allow_private: bool = Field(
        default=False, description="Let upstreams a tenant registers point at private and loopback addresses"
    )
    stdio_user: str | None = Field(
        default=None,
        description="User stdio upstreams run as; unset: nobody when the gateway runs as root; empty: ours",
    )
    header_timeout_seconds: float = Field(default=10.0, gt=0, description="Deadline for a request's headers")
    body_timeout_seconds: float = Field(default=30.0, gt=0, description="Deadline for a request's body")
    max_connections: int = Field(default=1000, gt=0, description="Open connections; more are refused with 503")

    # Storage, shared state and secrets
    home: Path = Path("~/.msplex")
    database_url: str = Field(default="", description="Default: SQLite file in home")
    redis_url: str = Field(default="", description="Shared state for scale-out; empty: in-process (one replica)")
    redis_prefix: str = Field(
        default="msplex:", min_length=1, description="Key and channel prefix in Redis (one per deployment)"
    )
    secret_key: SecretStr | None = None
    vault_key: SecretStr | None = Field(
        default=None, description="Connector credential keys (comma-separated, primary first); default: home/vault.key"
    )

    # Enforcement: entitlements (chain stages 4 to 6)
    require_subscription: bool = Field(
        default=False,
        description="Refuse the calls of a tenant without a subscription (unset: such a tenant is not metered)",
    )

    # Enforcement: approvals (chain stage 10) and the worker pool per connector instance (stage 11)
    approval_ttl_seconds: float = Field(
        default=3600.0, gt=0, description="How long an approval request, and the approval it gets, stays valid"
    )
    approval_wait_seconds: float = Field(
        default=20.0, ge=0, le=600, description="How long a call waits for an approver's decision before 'pending'"
    )
    worker_concurrency: int = Field(default=32, gt=0, description="Calls one connector instance runs at once")
    worker_queue: int = Field(default=64, ge=0, description="Calls that may wait for a worker per instance")
    worker_queue_seconds: float = Field(default=10.0, gt=0, description="How long a call waits for a worker")
    audit_linger_ms: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description="How long an audit batch waits, at most, for the records of calls under way (0: never)",
    )

    # The deployment's own identity provider (a single-MSP deployment; tenants bring theirs with
    # ``msplex oidc set``). Off unless MSPLEX_OIDC_ISSUER is set.
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = Field(default="", description="Default: the jwks_uri of the issuer's discovery document")
    oidc_tenant_claim: str = "msplex_tenant"
    oidc_customer_claim: str = "msplex_customer"
    oidc_roles_claim: str = "roles"
    oidc_role_map: StrList = Field(default_factory=list, description="GROUP=ROLE pairs (ROLE: admin, member, customer)")

    @field_validator("allowed_hosts", "allowed_origins", "oidc_role_map", mode="before")
    @classmethod
    def _lists_from_env(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("secret_key", "vault_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("oidc_role_map", mode="after")
    @classmethod
    def _role_pairs(cls, value: list[str]) -> list[str]:
        for pair in value:
            group, sep, role = pair.partition("=")
            if not sep or not group.strip() or role.strip() not in ("admin", "member", "customer"):
                raise ValueError(f"{pair!r} must look like GROUP=ROLE with ROLE admin, member or customer")
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        if bool(self.oidc_issuer) != bool(self.oidc_audience):
            raise ValueError("MSPLEX_OIDC_ISSUER and MSPLEX_OIDC_AUDIENCE go together: set both or neither")
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.home / 'msplex.db'}"
        if not self.public_url:
            host = self.host
            if host in ("0.0.0.0", "::", ""):
                host = "127.0.0.1"
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"
            self.public_url = f"http://{host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        public = urlsplit(self.public_url)
        if public.scheme not in ("http", "https") or not public.netloc:
            raise ValueError("public_url must be an absolute http(s) URL")
        if "allowed_hosts" not in self.model_fields_set and not self.host_allowed(public.netloc):
            self.allowed_hosts = [*self.allowed_hosts, public.netloc.lower()]
        origin = f"{public.scheme}://{public.netloc}".lower()
        if "allowed_origins" not in self.model_fields_set and not self.origin_allowed(origin):
            self.allowed_origins = [*self.allowed_origins, origin]
        return self

    def ensure_home(self) -> Path:
        """Create ``home`` (mode 0700) if missing and return it."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.home

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def host_allowed(self, host: str) -> bool:
        return pattern_matches(host, self.allowed_hosts)

    def origin_allowed(self, origin: str) -> bool:
        return pattern_matches(origin, self.allowed_origins)

    @property
    def oidc_roles(self) -> dict[str, str]:
        return {g.strip(): r.strip() for g, _, r in (p.partition("=") for p in self.oidc_role_map)}
