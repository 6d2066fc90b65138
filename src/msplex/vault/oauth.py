"""OAuth 2 token requests, built and parsed by authlib, sent through the injected HTTP client.

authlib prepares the grant bodies (``client_credentials``, ``authorization_code`` with a PKCE
verifier, ``refresh_token``), the authorization URL and the client authentication; this module
only sends them with the connector's ``httpx.AsyncClient`` (so tests reach a token endpoint on
127.0.0.1 the same way production reaches the vendor) and turns every failure into a
``NotReady`` whose message names the endpoint's host and the OAuth error code, never a secret.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.oauth2.auth import encode_client_secret_basic, encode_client_secret_post
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from msplex.connectors.framework.errors import NotReady
from msplex.connectors.framework.redact import scrub_text

__all__ = ["TokenEndpoint", "authorization_url", "new_verifier"]

TOKEN_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class _Client:
    """What authlib's client-authentication encoders read."""

    client_id: str
    client_secret: str


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636: 43 to 128 characters)."""
    return str(generate_token(64))


def authorization_url(
    authorize: str,
    client_id: str,
    *,
    redirect_uri: str,
    scope: str,
    state: str,
    verifier: str,
    resource: str | None = None,
) -> str:
    """Where to send a person to grant access (authorization code with PKCE S256, RFC 8707 resource)."""
    challenge: str = create_s256_code_challenge(verifier)  # type: ignore[no-untyped-call]
    extra: dict[str, str] = {"code_challenge": challenge, "code_challenge_method": "S256"}
    if resource:
        extra["resource"] = resource
    return str(
        prepare_grant_uri(authorize, client_id, "code", redirect_uri=redirect_uri, scope=scope, state=state, **extra)
    )


class TokenEndpoint:
    """One token endpoint and the client credentials that authenticate to it."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        client_id: str,
        client_secret: str | None,
        *,
        vendor: str,
        fix: str,
        auth_method: str = "client_secret_post",
        body: str = "form",
        query: Mapping[str, str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self._client = client
        self.url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}" if query else url
        self._creds = _Client(client_id, client_secret or "")
        self._vendor = vendor
        self._fix = fix
        self._auth_method = auth_method if client_secret else "none"
        self._body = body
        self._extra = dict(extra or {})
        self.host = urlsplit(url).hostname or url

    def secrets(self) -> tuple[str, ...]:
        return (self._creds.client_secret,) if self._creds.client_secret else ()

    async def client_credentials(self, scope: str | None) -> dict[str, Any]:
        params = {**self._extra, **({"scope": scope} if scope else {})}
        return await self._request(prepare_token_request("client_credentials", **params))

    async def authorization_code(self, code: str, *, redirect_uri: str, verifier: str) -> dict[str, Any]:
        body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri, code_verifier=verifier)
        return await self._request(body)

    async def refresh(self, refresh_token: str, scope: str | None = None) -> dict[str, Any]:
        params = {"scope": scope} if scope else {}
        return await self._request(prepare_token_request("refresh_token", refresh_token=refresh_token, **params))

    async def _request(self, body: str) -> dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if self._auth_method == "client_secret_basic":
            _, headers, body = encode_client_secret_basic(self._creds, "POST", self.url, headers, body)
        elif self._auth_method == "client_secret_post":
            _, headers, body = encode_client_secret_post(self._creds, "POST", self.url, headers, body)
        elif self._auth_method == "none":
            body = f"{body}&{urlencode({'client_id': self._creds.client_id})}"
        content: bytes = body.encode()
        if self._body == "json":
            from urllib.parse import parse_qsl

            content = orjson.dumps(dict(parse_qsl(body)))
            headers = {**headers, "Content-Type": "application/json"}
        try:
            response = await self._client.post(self.url, content=content, headers=headers, timeout=TOKEN_TIMEOUT)
        except httpx.TimeoutException:
            raise NotReady(f"the {self._vendor} token endpoint at {self.host} did not answer in time") from None
        except httpx.HTTPError:
            raise NotReady(
                f"cannot reach the {self._vendor} token endpoint at {self.host}",
                fix="check --base-url/--token-url",
            ) from None
        try:
            token = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            token = {}
        if response.status_code >= 400 or not isinstance(token, dict) or "access_token" not in token:
            raise self._refused(response.status_code, token if isinstance(token, dict) else {})
        if "expires_in" in token and "expires_at" not in token:
            token["expires_at"] = int(time.time()) + int(token["expires_in"])
        return token

    def _refused(self, status: int, body: dict[str, Any]) -> NotReady:
        code = body.get("error") if isinstance(body.get("error"), str) else None
        said = body.get("error_description") if isinstance(body.get("error_description"), str) else None
        detail = scrub_text(f"{code}{f': {said}' if said else ''}", self.secrets()) if code else f"HTTP {status}"
        if code == "invalid_scope":
            reason = f"the {self._vendor} API application lacks a requested scope ({detail})"
        elif code in ("invalid_client", "unauthorized_client") or status == 401:
            reason = f"{self._vendor} rejected the client credentials ({detail})"
        elif status == 404:
            reason = f"there is no {self._vendor} token endpoint at {self.host} (HTTP 404)"
        elif code == "invalid_grant":
            reason = f"{self._vendor} refused the grant; the refresh token was revoked or already used ({detail})"
        else:
            reason = f"the {self._vendor} token endpoint at {self.host} refused the request ({detail})"
        return NotReady(reason, fix=self._fix, status=status)
