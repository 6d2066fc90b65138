"""The vault: connector credentials sealed at rest, and the auth they become per request.

* ``VaultKeys`` (``keys``): AES-256-GCM envelopes naming their key; ``msplex vault rotate-key``.
* ``build_auth`` (``auth``): a vendor's credential kind plus its secrets become the framework's
  ``Auth``: static headers, or OAuth tokens renewed once for all callers across replicas.
* ``oauth``: token requests and the authorization-code URL, built by authlib.

Secret values live in memory only while in use; they are never printed, logged, audited or
returned by any API (the CLI and admin API show which secret fields are set, never their values).
"""

from msplex.vault.auth import LEEWAY, MemoryTokens, OAuthAuth, StaticAuth, TokenStore, build_auth
from msplex.vault.keys import VaultKeys
from msplex.vault.oauth import TokenEndpoint, authorization_url, new_verifier

__all__ = [
    "LEEWAY",
    "MemoryTokens",
    "OAuthAuth",
    "StaticAuth",
    "TokenEndpoint",
    "TokenStore",
    "VaultKeys",
    "authorization_url",
    "build_auth",
    "new_verifier",
]
