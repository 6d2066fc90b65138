"""Who is calling: personal access tokens, OIDC bearer tokens from a tenant's identity provider, or nobody."""
