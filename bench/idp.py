"""A minimal OpenID Connect provider for the benchmark's OIDC row: JWKS over HTTP on 127.0.0.1, one RSA key.

Only what the gateway needs to verify a token: a discovery document, a JWKS, and
``mint`` for a token the gateway's deployment provider accepts.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = ["BenchIdp"]

AUDIENCE = "msplex-bench"


class BenchIdp:
    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwks = json.dumps({"keys": [{**public, "kid": "bench", "alg": "RS256", "use": "sig"}]}).encode()
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": idp.issuer, "jwks_uri": f"{idp.issuer}/jwks.json"}).encode()
                elif self.path == "/jwks.json":
                    body = jwks
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def mint(self, claims: dict[str, Any], lifetime: float = 3600.0) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": AUDIENCE, "sub": "bench", "iat": now, "nbf": now, "exp": now + int(lifetime)}
        return jwt.encode({**body, **claims}, self._key, algorithm="RS256", headers={"kid": "bench"})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
