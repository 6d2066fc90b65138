"""Who is calling: verification of bearer credentials that MSPlex does not issue itself.

``oidc`` verifies JWTs from an MSP's OpenID Connect provider and maps their
claims to an MSPlex role, tenant and customer. This package sits beside
``call`` and ``crypto`` in the layering: it imports nothing above them, and the
chain's authenticate stage is its caller.
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
