"""The keyring: sealed tokens open only with the right key and AAD; keys rotate."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from msplex.crypto import InvalidCiphertext, InvalidKey, Keyring, generate_key
from msplex.settings import Settings


def test_round_trip_is_short_urlsafe_and_randomized() -> None:
    ring = Keyring([os.urandom(32)])
    payload = b'{"sid":"0123456789abcdef0123456789abcdef","t":"acme"}'
    token = ring.encrypt(payload, aad=b"session")
    assert ring.decrypt(token, aad=b"session") == payload
    assert len(token) < 130 and "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert ring.encrypt(payload, aad=b"session") != token


def test_tampering_wrong_aad_and_garbage_are_rejected() -> None:
    ring = Keyring([os.urandom(32)])
    token = ring.encrypt(b"payload", aad=b"a")
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
        with pytest.raises(InvalidCiphertext):
            ring.decrypt(forged, aad=b"a")
    with pytest.raises(InvalidCiphertext):
        ring.decrypt(token, aad=b"b")
    for garbage in ("", "x", "!!!!", "é" * 40, token[:-4], "A" * 200):
        with pytest.raises(InvalidCiphertext):
            ring.decrypt(garbage)


def test_rotation_keeps_old_tokens_readable_and_seals_with_the_new_key() -> None:
    old, new = os.urandom(32), os.urandom(32)
    sealed_by_old = Keyring([old]).encrypt(b"old")
    rotated = Keyring([new, old])
    assert rotated.decrypt(sealed_by_old) == b"old"
    sealed_by_new = rotated.encrypt(b"new")
    assert Keyring([new]).decrypt(sealed_by_new) == b"new"
    with pytest.raises(InvalidCiphertext, match="unknown key"):
        Keyring([old]).decrypt(sealed_by_new)


def test_load_from_env_takes_comma_separated_keys_primary_first(tmp_path: Path) -> None:
    a, b = generate_key(), generate_key()
    ring = Keyring.load(Settings(home=tmp_path, secret_key=f"{a}, {b}"))
    assert Keyring.load(Settings(home=tmp_path, secret_key=a)).decrypt(ring.encrypt(b"x")) == b"x"
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(InvalidKey) as info:
        Keyring.load(Settings(home=tmp_path, secret_key=f"{a},not-a-key-at-all"))
    assert "not-a-key" not in str(info.value) and "#2" in str(info.value)


def test_load_without_env_generates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = Keyring.load(settings)
    path = settings.home / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keyring.load(settings).decrypt(first.encrypt(b"x")) == b"x"
    path.write_text("")
    with pytest.raises(InvalidKey, match="holds no key"):
        Keyring.load(settings)
