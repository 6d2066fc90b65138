"""The vault's keys: AES-256-GCM envelopes that name their key, so keys rotate without downtime.

Keys come from ``MSPLEX_VAULT_KEY`` (comma-separated, primary first) or ``{home}/vault.key`` (one
per line, primary first, created 0600 on first use). The primary seals; every key opens.
``msplex vault rotate-key`` puts a new key first in the file (or expects the operator to have put
one first in ``MSPLEX_VAULT_KEY`` on every replica) and re-seals every stored secret under it. A
running gateway that meets an envelope sealed by a key it has not loaded re-reads the key file
once, so rotating under a live embedded gateway costs it nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from msplex.crypto import InvalidCiphertext, Keyring, _parse_key, _read_or_create_key_file, generate_key

if TYPE_CHECKING:
    from msplex.settings import Settings

__all__ = ["VAULT_KEY_FILE", "VaultKeys", "file_keyring"]

VAULT_KEY_FILE = "vault.key"


class VaultKeys:
    def __init__(self, keyring: Keyring, path: Path | None = None) -> None:
        self._keyring = keyring
        self.path = path
        """The key file, or ``None`` when keys come from ``MSPLEX_VAULT_KEY``."""

    @classmethod
    def load(cls, settings: Settings) -> VaultKeys:
        if settings.vault_key is not None:
            parts = [p for p in settings.vault_key.get_secret_value().split(",") if p.strip()]
            return cls(Keyring([_parse_key(p, "MSPLEX_VAULT_KEY", i) for i, p in enumerate(parts)]))
        path = settings.ensure_home() / VAULT_KEY_FILE
        return cls(file_keyring(path), path)

    @property
    def primary_id(self) -> bytes:
        return _key_id(self._keyring.encrypt(b"", aad=b"kid"))

    def seal(self, data: bytes, *, aad: bytes) -> str:
        return self._keyring.encrypt(data, aad=aad)

    def open(self, token: str, *, aad: bytes) -> bytes:
        try:
            return self._keyring.decrypt(token, aad=aad)
        except InvalidCiphertext:
            if self.path is None:
                raise
            self._keyring = file_keyring(self.path)  # another process may have rotated the key
            return self._keyring.decrypt(token, aad=aad)

    def sealed_by_primary(self, token: str) -> bool:
        return _key_id(token) == self.primary_id

    def rotate_file(self) -> None:
        """Put a new primary key first in the key file (old keys stay, so envelopes keep opening)."""
        if self.path is None:
            raise ValueError("keys come from MSPLEX_VAULT_KEY: put the new key first there on every replica")
        lines = _read_or_create_key_file(self.path)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".vault.", text=True)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write("\n".join([generate_key(), *lines]) + "\n")
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._keyring = file_keyring(self.path)


def _key_id(token: str) -> bytes:
    """The key id an envelope names (``msplex.crypto``: version byte, then 4 bytes of key id)."""
    try:
        return base64.urlsafe_b64decode(token[:8])[1:5]
    except (binascii.Error, ValueError):
        return b""


def file_keyring(path: Path) -> Keyring:
    lines = _read_or_create_key_file(path)
    return Keyring([_parse_key(line, str(path), i) for i, line in enumerate(lines)])
