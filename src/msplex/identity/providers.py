"""Which identity provider may vouch for a request, and what its verified token makes of the caller.

Two kinds of provider: the deployment's own (``MSPLEX_OIDC_*``, for a single-MSP
deployment: the token's tenant claim names the tenant) and each tenant's
(``msplex oidc set``: the tenant is the one that configured it). A request on
``/mcp/v1/{tenant}`` is verified only by that tenant's provider and the
deployment's; on ``/mcp`` or an entity endpoint, by the tenant providers whose
issuer the token claims, then the deployment's. Whatever verifies it, the
principal is bound to exactly one tenant (a tenant's provider never vouches for
another tenant) and a customer claim must name a customer of that tenant.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from msplex.call import Credential, Principal
from msplex.directory import Directory
from msplex.identity.oidc import InvalidToken, OidcProvider, OidcVerifier, Role, unverified_issuer
from msplex.identity.principals import Unauthenticated
from msplex.store.records import OidcProviderRecord

__all__ = ["OidcProviders", "provider_of"]


def provider_of(record: OidcProviderRecord) -> OidcProvider:
    return OidcProvider(
        issuer=record.issuer,
        audience=record.audience,
        jwks_url=record.jwks_url,
        customer_claim=record.customer_claim,
        roles_claim=record.roles_claim,
        role_map=dict(record.role_map),
    )


class OidcProviders:
    """The ``OidcResolver`` of ``Identities``: the deployment's provider and every tenant's, kept in step
    with the control plane (a provider whose settings did not change keeps its verifier and caches)."""

    def __init__(self, directory: Directory, http: httpx.AsyncClient, deployment: OidcProvider | None = None) -> None:
        self._directory = directory
        self._http = http
        self._deployment = OidcVerifier(deployment, http) if deployment is not None else None
        self._tenants: dict[str, OidcVerifier] = {}

    @property
    def deployment(self) -> OidcProvider | None:
        return self._deployment.provider if self._deployment is not None else None

    def apply(self, records: Mapping[str, OidcProviderRecord]) -> list[str]:
        """Adopt the tenants' provider settings; the problems of settings that cannot be used, by tenant id."""
        verifiers: dict[str, OidcVerifier] = {}
        problems = []
        for tenant_id, record in records.items():
            try:
                provider = provider_of(record)
            except ValueError as exc:
                problems.append(f"tenant {tenant_id}: {exc}")
                continue
            old = self._tenants.get(tenant_id)
            verifiers[tenant_id] = (
                old if old is not None and old.provider == provider else OidcVerifier(provider, self._http)
            )
        self._tenants = verifiers
        return problems

    def verifier(self, tenant_id: str) -> OidcVerifier | None:
        return self._tenants.get(tenant_id)

    async def principal(self, credential: Credential, tenant_slug: str | None) -> Principal:
        candidates = self._candidates(credential.raw, tenant_slug)
        if not candidates:
            raise Unauthenticated("no identity provider of this endpoint issues tokens for that issuer")
        failure: InvalidToken | None = None
        for verifier, tenant_id in candidates:
            try:
                verified = await verifier.verify(credential)
            except InvalidToken as exc:
                failure = failure or exc
                continue
            return self._principal(verified.issuer, verified.subject, verified.role, verified.expires_at,
                                   tenant_id or self._tenant_of(verified.tenant), verified.customer)  # fmt: skip
        assert failure is not None
        raise Unauthenticated(failure.description)

    def _candidates(self, token: str, tenant_slug: str | None) -> list[tuple[OidcVerifier, str | None]]:
        found: list[tuple[OidcVerifier, str | None]] = []
        if tenant_slug is not None:
            tenant = self._directory.tenant_by_slug(tenant_slug)
            own = self._tenants.get(tenant.id) if tenant is not None else None
            if tenant is not None and own is not None:
                found.append((own, tenant.id))
        else:
            issuer = unverified_issuer(token)
            found += [
                (v, tid) for tid, v in self._tenants.items() if issuer is not None and v.provider.issuer == issuer
            ]
        if self._deployment is not None:
            found.append((self._deployment, None))
        return found

    def _tenant_of(self, slug: str | None) -> str:
        tenant = self._directory.tenant_by_slug(slug) if slug is not None else None
        if tenant is None:
            raise Unauthenticated("claims: the token's tenant claim names no tenant of this gateway")
        return tenant.id

    def _principal(
        self, issuer: str, subject: str, role: Role, expires_at: float, tenant_id: str, customer: str | None
    ) -> Principal:
        customer_id = None
        if customer is not None:
            record = self._directory.customer(tenant_id, customer)
            if record is None:
                raise Unauthenticated("claims: the token's customer claim names no customer of its tenant")
            customer_id = record.id
        audience: Role = "customer" if customer_id is not None else role
        return Principal(
            "oidc", tenant_id, None, audience, customer_id, subject=f"{issuer} {subject}", expires_at=expires_at
        )
