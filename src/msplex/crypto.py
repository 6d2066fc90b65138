"""Authenticated encryption with rotating keys (AES-256-GCM).

A token is ``urlsafe_b64(version | key_id | nonce | ciphertext+tag)`` without
padding: 1 + 4 + 12 + 16 bytes of overhead, so a 60-byte payload becomes a
~125-character token. ``key_id`` is the first 4 bytes of SHA-256 of the key,
so a token names the key that sealed it and old keys keep decrypting after a
new primary is put first. The header is bound into the AAD together with the
caller's ``aad`` (use it to tie a ciphertext to its purpose and row).

Keys come from ``MSPLEX_SECRET_KEY`` (comma-separated urlsafe-base64 32-byte
keys, primary first) or else ``{home}/secret.key`` (one key per line, primary
first), which is generated on first use with mode 0600. Every replica of a
scale-out deployment must share the same keys.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from msplex.settings import Settings

__all__ = ["InvalidCiphertext", "InvalidKey", "Keyring", "generate_key", "token_digest"]

_VERSION = 1
_KID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KID_LEN
_MIN_LEN = _HEADER_LEN + _NONCE_LEN + 16
KEY_FILE = "secret.key"


class InvalidCiphertext(ValueError):
    """The token is garbage, was tampered with, or was sealed by an unknown key."""


class InvalidKey(ValueError):
    """A configured key is not urlsafe base64 of exactly 32 bytes (the message never shows it)."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_digest(token: str) -> str:
    """The stored and compared form of a bearer token (SHA-256 hex): tokens are 240-bit random, so no
    salt. Computed once per request at the edge; the plaintext goes no further."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def generate_key() -> str:
    """A new random key in the form ``MSPLEX_SECRET_KEY`` accepts."""
    return _b64encode(os.urandom(32))


def _parse_key(text: str, where: str, index: int) -> bytes:
    try:
        key = _b64decode(text.strip())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise InvalidKey(
            f"key #{index + 1} in {where} is not urlsafe base64 of 32 bytes; "
            'generate one with: python -c "from msplex.crypto import generate_key; print(generate_key())"'
        )
    return key


class Keyring:
    """Seals and opens tokens; the first key encrypts, all keys decrypt. Also keyed digests (``mac``)."""

    __slots__ = ("_by_kid", "_macs", "_primary", "_primary_kid")

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise InvalidKey("a keyring needs at least one key")
        self._by_kid: dict[bytes, list[AESGCM]] = {}
        self._macs: dict[bytes, bytes] = {}
        for key in keys:
            if len(key) != 32:
                raise InvalidKey("keys must be 32 bytes")
            self._by_kid.setdefault(self.key_id(key), []).append(AESGCM(key))
            self._macs.setdefault(self.key_id(key), hmac.digest(key, b"msplex/mac-key", "sha256"))
        self._primary_kid = self.key_id(keys[0])
        self._primary = self._by_kid[self._primary_kid][0]

    @staticmethod
    def key_id(key: bytes) -> bytes:
        return hashlib.sha256(key).digest()[:_KID_LEN]

    @classmethod
    def load(cls, settings: Settings) -> Keyring:
        """Keys from ``settings.secret_key``, else from ``{home}/secret.key`` (created if missing)."""
        if settings.secret_key is not None:
            parts = [p for p in settings.secret_key.get_secret_value().split(",") if p.strip()]
            return cls([_parse_key(p, "MSPLEX_SECRET_KEY", i) for i, p in enumerate(parts)])
        path = settings.ensure_home() / KEY_FILE
        lines = _read_or_create_key_file(path)
        return cls([_parse_key(line, str(path), i) for i, line in enumerate(lines)])

    def encrypt(self, data: bytes, *, aad: bytes = b"") -> str:
        header = bytes([_VERSION]) + self._primary_kid
        nonce = os.urandom(_NONCE_LEN)
        sealed = self._primary.encrypt(nonce, data, header + aad)
        return _b64encode(header + nonce + sealed)

    def decrypt(self, token: str, *, aad: bytes = b"") -> bytes:
        try:
            raw = _b64decode(token) if token.isascii() else b""
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) < _MIN_LEN or raw[0] != _VERSION:
            raise InvalidCiphertext("malformed token")
        body = _HEADER_LEN + _NONCE_LEN
        header, nonce, sealed = raw[:_HEADER_LEN], raw[_HEADER_LEN:body], raw[body:]
        candidates = self._by_kid.get(header[1:])
        if not candidates:
            raise InvalidCiphertext("token sealed by an unknown key")
        for aead in candidates:
            with contextlib.suppress(InvalidTag):
                return aead.decrypt(nonce, sealed, header + aad)
        raise InvalidCiphertext("token failed authentication")

    def mac(self, data: bytes, *, purpose: bytes) -> str:
        """A keyed digest of ``data`` (HMAC-SHA-256 under a key derived from the primary key, which it names):
        equal data give equal digests, and without the keys nobody can test a guess of low-entropy data
        (a PIN, a password among arguments) against it."""
        return _mac(self._primary_kid.hex(), self._macs[self._primary_kid], data, purpose)

    def mac_matches(self, data: bytes, digest: str, *, purpose: bytes) -> bool:
        """Whether ``digest`` (from ``mac``, under any key of this keyring) is the digest of ``data``."""
        version, _, rest = digest.partition(".")
        kid_hex, _, _ = rest.partition(".")
        try:
            key = self._macs.get(bytes.fromhex(kid_hex)) if version == "m1" else None
        except ValueError:
            key = None
        if key is None:
            return False
        return hmac.compare_digest(_mac(kid_hex, key, data, purpose), digest)


def _mac(kid_hex: str, key: bytes, data: bytes, purpose: bytes) -> str:
    return f"m1.{kid_hex}.{hmac.digest(key, purpose + bytes(1) + data, 'sha256').hex()}"


def _read_or_create_key_file(path: Path) -> list[str]:
    """Key lines of ``path``; creates it atomically (0600) so racing processes agree on one key."""
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret.", text=True)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key() + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    lines = [line.strip() for line in path.read_text().splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise InvalidKey(f"{path} holds no key; delete it to have a new one generated")
    return lines
