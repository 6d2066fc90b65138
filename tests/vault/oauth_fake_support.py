"""A small OAuth 2 token endpoint and a protected API on 127.0.0.1 (aiohttp), for vault tests.

Client credentials and refresh tokens (rotating: a refresh token works once, a reused one gets
``invalid_grant``), tokens expiring after ``lifetime`` seconds, ``invalid_client`` for a wrong
secret, ``invalid_scope`` for a scope not granted; ``/api/me`` answers 401 to an unknown or expired token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from typing import Any

from aiohttp import web

__all__ = ["OAuthFake"]


class OAuthFake:
    def __init__(self, client_id: str = "cid", client_secret: str = "s3cret-value", scopes: set[str] | None = None):
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes or {"all"}
        self.lifetime = 3600
        self.delay = 0.05
        """Seconds each token request takes (makes concurrent callers overlap)."""
        self.token_requests: list[dict[str, str]] = []
        self.access: dict[str, float] = {}
        self.refresh: dict[str, bool] = {}
        """Refresh token -> still usable."""
        self.reused: list[str] = []
        self.codes: dict[str, tuple[str, str]] = {}
        """Authorization code -> (PKCE challenge, redirect URI)."""
        self.authorize_requests: list[dict[str, str]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/oauth/authorize", self._authorize)
        app.router.add_get("/api/me", self._me)
        return app

    def issue(self, *, lifetime: float | None = None, refresh: bool = False) -> dict[str, Any]:
        token = secrets.token_urlsafe(16)
        life = self.lifetime if lifetime is None else lifetime
        self.access[token] = time.time() + life
        out: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": int(life)}
        if refresh:
            rt = secrets.token_urlsafe(16)
            self.refresh[rt] = True
            out["refresh_token"] = rt
        return out

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        await asyncio.sleep(self.delay)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return web.json_response({"error": "invalid_client", "error_description": "bad client"}, status=401)
        grant = form.get("grant_type")
        if grant == "client_credentials":
            asked = set(str(form.get("scope", "all")).split())
            if not asked <= self.scopes:
                return web.json_response({"error": "invalid_scope"}, status=400)
            return web.json_response(self.issue())
        if grant == "authorization_code":
            challenge, redirect = self.codes.pop(str(form.get("code")), ("", ""))
            verifier = str(form.get("code_verifier", ""))
            if not challenge or redirect != form.get("redirect_uri") or _s256(verifier) != challenge:
                return web.json_response({"error": "invalid_grant"}, status=400)
            return web.json_response(self.issue(refresh=True))
        if grant == "refresh_token":
            rt = str(form.get("refresh_token"))
            if not self.refresh.get(rt):
                self.reused.append(rt)
                return web.json_response({"error": "invalid_grant"}, status=400)
            self.refresh[rt] = False
            return web.json_response(self.issue(refresh=True))
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    async def _authorize(self, request: web.Request) -> web.Response:
        """The person consents at once: back to the client's redirect URI with a code (PKCE S256 required)."""
        q = dict(request.query)
        self.authorize_requests.append(q)
        if q.get("client_id") != self.client_id or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="bad authorization request")
        code = secrets.token_urlsafe(12)
        self.codes[code] = (q["code_challenge"], q["redirect_uri"])
        raise web.HTTPFound(f"{q['redirect_uri']}?code={code}&state={q.get('state', '')}")

    async def _me(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.access.get(token, 0) < time.time():
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response({"id": 1, "name": "me"})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
