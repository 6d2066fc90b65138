"""A real OpenID Connect identity provider for tests: HTTP on 127.0.0.1 in a background thread.

It serves ``/.well-known/openid-configuration`` (``issuer`` = its base URL) and
``/jwks.json``, signs tokens with its keys, and misbehaves on request, so async
tests, gateway subprocesses and benchmarks can all talk to it::

    with Idp() as idp:                      # one RSA ("rsa-1") and one EC P-256 ("ec-1") key
        token = idp.mint({"roles": ["admin"], "msplex_tenant": "acme"})
        idp.jwks_status = 503               # the JWKS now fails; jwks_delay = 10 makes it hang
        idp.jwks_fetches                    # how many times /jwks.json was asked for

``mint`` fills ``iss``, ``aud``, ``sub``, ``iat``, ``nbf`` and ``exp`` (now + 300 s);
a claim given as ``None`` is left out. The deliberately bad tokens a verifier
must refuse are methods: ``unsigned``, ``hs256_with_public_key``, ``forged``,
``expired``, ``not_yet_valid``, ``issued_in_future``, ``wrong_issuer``,
``wrong_audience``, ``unknown_kid``. Key pairs come from a per-process pool, so
many providers cost one key generation per kind.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
import warnings
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

__all__ = ["DEFAULT_AUDIENCE", "Clock", "Idp", "KeyKind"]

KeyKind = Literal["RSA", "RSA1024", "EC", "EC384", "Ed25519"]
DEFAULT_AUDIENCE = "msplex"
_DEFAULT_ALG: dict[KeyKind, str] = {
    "RSA": "RS256",
    "RSA1024": "RS256",
    "EC": "ES256",
    "EC384": "ES384",
    "Ed25519": "EdDSA",
}
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@functools.cache
def _pooled(kind: KeyKind, index: int) -> PrivateKey:
    """The ``index``-th key pair of ``kind`` in this process (generated once)."""
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "RSA1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "EC384":
        return ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate()


def _public_jwk(key: PrivateKey) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        return RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


class Clock:
    """POSIX seconds that move only when the test says so; starts at the real time, so minted tokens fit it.

    Pass it as a verifier's ``clock`` to step past ``exp``, ``min_refresh`` or a key set's max age.
    """

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    idp: Idp

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that gave up on a hanging answer is what some tests are about."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() + self.server.idp.date_offset, usegmt=True)

    def do_GET(self) -> None:
        idp = self.server.idp
        if self.path == "/.well-known/openid-configuration":
            with idp._lock:
                idp.discovery_fetches += 1
            self._answer(200, idp.discovery_document(), None)
        elif self.path == "/jwks.json":
            with idp._lock:
                idp.jwks_fetches += 1
                status, delay, body = idp.jwks_status, idp.jwks_delay, idp.jwks_body
            if delay:
                idp._released.wait(delay)
            self._answer(status, body if body is not None else idp.jwks(), idp.cache_control)
        else:
            self._answer(404, {"error": "not found"}, None)

    def _answer(self, status: int, body: dict[str, Any] | bytes, cache_control: str | None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if cache_control is not None:
            self.send_header("Cache-Control", cache_control)
        self.end_headers()
        self.wfile.write(data)


class Idp:
    """The provider. Its knobs are plain attributes, read on each request (thread-safe enough for tests).

    ``jwks_status``: the JWKS answer's status (200); ``jwks_delay``: seconds the
    JWKS answer hangs first (released at ``close``); ``jwks_body``: raw bytes or
    a document served instead of the keys; ``cache_control``: the JWKS
    ``Cache-Control`` header; ``discovery_issuer``: the ``issuer`` the discovery
    document claims (its own base URL by default); ``date_offset``: seconds
    added to its HTTP ``Date`` (a skewed clock).
    """

    def __init__(self, *, audience: str = DEFAULT_AUDIENCE, keys: tuple[KeyKind, ...] = ("RSA", "EC")) -> None:
        self.audience = audience
        self.jwks_status = 200
        self.jwks_delay = 0.0
        self.jwks_body: dict[str, Any] | bytes | None = None
        self.cache_control: str | None = None
        self.discovery_issuer: str | None = None
        self.date_offset = 0.0
        self.jwks_fetches = 0
        self.discovery_fetches = 0
        self.extra_jwks_entries: list[dict[str, Any]] = []
        """Raw entries appended to the served JWKS (an ``oct`` key, an encryption key...)."""
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._keys: dict[str, tuple[PrivateKey, str, bool]] = {}  # kid -> (key, alg, publish alg in JWK)
        self._used: dict[KeyKind, int] = {}
        self.default_kid = ""
        for kind in keys:
            self.add_key(kind)
        self.default_kid = next(iter(self._keys), "")
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.port: int = self._server.server_address[1]
        self._server.idp = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), name="test-idp", daemon=True)
        self._thread.start()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks.json"

    @property
    def kids(self) -> list[str]:
        with self._lock:
            return list(self._keys)

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Idp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_key(self, kind: KeyKind = "RSA", *, kid: str | None = None, alg: str | None = None) -> str:
        """Publish a new key (a fresh pair from the pool) and return its kid (``rsa-2``...).

        With ``alg`` the JWK states it; without, it states the kind's default.
        """
        with self._lock:
            index = self._used.get(kind, 0)
            self._used[kind] = index + 1
            kid = kid or f"{kind.lower()}-{index + 1}"
            self._keys[kid] = (_pooled(kind, index), alg or _DEFAULT_ALG[kind], True)
        return kid

    def publish_without_alg(self, kid: str) -> None:
        """Serve ``kid``'s JWK without an ``alg`` member (any algorithm of its type may then verify)."""
        with self._lock:
            key, alg, _ = self._keys[kid]
            self._keys[kid] = (key, alg, False)

    def remove_key(self, kid: str) -> None:
        with self._lock:
            del self._keys[kid]

    def rotate(self, kind: KeyKind = "RSA") -> str:
        """Publish a new key and make it the one ``mint`` signs with; the old keys stay published."""
        self.default_kid = self.add_key(kind)
        return self.default_kid

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.discovery_issuer or self.issuer,
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": sorted(set(_DEFAULT_ALG.values())),
        }

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            keys = [
                {**_public_jwk(key), "kid": kid, "use": "sig", **({"alg": alg} if with_alg else {})}
                for kid, (key, alg, with_alg) in self._keys.items()
            ]
            return {"keys": keys + list(self.extra_jwks_entries)}

    def private_key(self, kid: str) -> PrivateKey:
        with self._lock:
            return self._keys[kid][0]

    def claims(self, claims: dict[str, Any] | None = None, *, lifetime: float = 300.0) -> dict[str, Any]:
        """The default claims overridden by ``claims``; a ``None`` value removes the claim."""
        now = int(time.time())
        full = {"iss": self.issuer, "aud": self.audience, "sub": "user-1", "iat": now, "nbf": now}
        full["exp"] = now + int(lifetime)
        full.update(claims or {})
        return {name: value for name, value in full.items() if value is not None}

    def mint(
        self,
        claims: dict[str, Any] | None = None,
        *,
        kid: str | None = None,
        alg: str | None = None,
        headers: dict[str, Any] | None = None,
        omit_kid: bool = False,
        lifetime: float = 300.0,
        signing_key: PrivateKey | None = None,
    ) -> str:
        """A token signed by key ``kid`` (default: ``default_kid``) with ``alg`` (default: the key's)."""
        kid = kid or self.default_kid
        with self._lock:
            key, key_alg, _ = self._keys.get(kid, (None, None, False))
        alg = alg or key_alg or "RS256"
        header = {} if omit_kid else {"kid": kid}
        header.update(headers or {})
        secret = signing_key or key
        assert secret is not None, f"no key {kid!r}: pass signing_key"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)  # an RSA1024 key is weak on purpose
            return jwt.encode(self.claims(claims, lifetime=lifetime), secret, algorithm=alg, headers=header)

    def unsigned(self, claims: dict[str, Any] | None = None) -> str:
        """``alg: none`` with an empty signature."""
        header = {"alg": "none", "typ": "JWT", "kid": self.default_kid}
        return f"{_segment(header)}.{_segment(self.claims(claims))}."

    def hs256_with_public_key(
        self, claims: dict[str, Any] | None = None, *, form: Literal["pem", "jwk"] = "pem"
    ) -> str:
        """HS256, keyed with the default key's public PEM (or its JWK's JSON): the classic algorithm confusion."""
        key = self.private_key(self.default_kid)
        if form == "pem":
            secret = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:
            secret = json.dumps({**_public_jwk(key), "kid": self.default_kid}).encode()
        signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': self.default_kid})}."
        signing_input += _segment(self.claims(claims))
        return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"

    def forged(self, claims: dict[str, Any] | None = None, *, kid: str | None = None) -> str:
        """Naming published key ``kid`` (default key), signed by another key of the same kind."""
        kid = kid or self.default_kid
        real = self.private_key(kid)
        kind: KeyKind = "RSA" if isinstance(real, rsa.RSAPrivateKey) else "EC"
        if isinstance(real, ed25519.Ed25519PrivateKey):
            kind = "Ed25519"
        elif isinstance(real, ec.EllipticCurvePrivateKey) and real.curve.name == "secp384r1":
            kind = "EC384"
        return self.mint(claims, kid=kid, signing_key=_pooled(kind, 99))

    def unknown_kid(self, claims: dict[str, Any] | None = None) -> str:
        """Signed by an unpublished key under a kid the JWKS does not have."""
        return self.mint(claims, kid="not-published", alg="RS256", signing_key=_pooled("RSA", 98))

    def expired(self, claims: dict[str, Any] | None = None) -> str:
        """Expired 10 minutes ago (well beyond any leeway)."""
        now = int(time.time())
        return self.mint({"iat": now - 1200, "nbf": now - 1200, "exp": now - 600, **(claims or {})})

    def not_yet_valid(self, claims: dict[str, Any] | None = None) -> str:
        """Valid from 10 minutes from now."""
        now = int(time.time())
        return self.mint({"iat": now, "nbf": now + 600, "exp": now + 1200, **(claims or {})})

    def issued_in_future(self, claims: dict[str, Any] | None = None) -> str:
        """Issued 10 minutes from now (no ``nbf``)."""
        now = int(time.time())
        return self.mint({"iat": now + 600, "nbf": None, "exp": now + 1200, **(claims or {})})

    def wrong_issuer(self, claims: dict[str, Any] | None = None) -> str:
        return self.mint({"iss": "https://evil.example", **(claims or {})})

    def wrong_audience(self, claims: dict[str, Any] | None = None) -> str:
        return self.mint({"aud": ["someone-else", "another"], **(claims or {})})
