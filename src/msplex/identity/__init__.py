"""Who is calling: from a request's bearer credential to one principal.

``principals`` resolves personal access tokens (from the directory) and hands
JWTs to ``providers``, which picks the identity providers allowed to vouch for
the endpoint; ``oidc`` verifies a JWT against one provider's JWKS and maps its
claims to an MSPlex role, tenant and customer. The chain's authenticate stage
is the caller.
"""

from msplex.identity.oidc import (
    ALGORITHMS,
    CHECKS,
    ROLES,
    Check,
    Finding,
    InvalidToken,
    OidcProvider,
    OidcVerifier,
    Role,
    VerifiedToken,
    diagnose,
    looks_like_jwt,
    unverified_issuer,
)

__all__ = [
    "ALGORITHMS",
    "CHECKS",
    "ROLES",
    "Check",
    "Finding",
    "InvalidToken",
    "OidcProvider",
    "OidcVerifier",
    "Role",
    "VerifiedToken",
    "diagnose",
    "looks_like_jwt",
    "unverified_issuer",
]
