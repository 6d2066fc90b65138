"""Settings: flat MSPLEX_* variables, comma-separated lists, derived defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from msplex.settings import Settings


def test_defaults_derive_from_home_host_and_port(msplex_home: Path) -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.max_body_bytes) == ("127.0.0.1", 8000, 4 * 1024 * 1024)
    assert settings.home == msplex_home
    assert settings.database_url == f"sqlite+aiosqlite:///{msplex_home}/msplex.db"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.secret_key is None
    assert not msplex_home.exists()
    settings.ensure_home()
    assert msplex_home.is_dir()


def test_lists_come_from_comma_separated_or_json_env(msplex_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSPLEX_ALLOWED_HOSTS", "gw.example.com, gw.internal:*")
    monkeypatch.setenv("MSPLEX_ALLOWED_ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("MSPLEX_PORT", "9001")
    monkeypatch.setenv("MSPLEX_DATABASE_URL", "postgresql+asyncpg://u@db/msplex")
    settings = Settings()
    assert settings.allowed_hosts == ["gw.example.com", "gw.internal:*"]
    assert settings.allowed_origins == ["https://app.example.com"]
    assert settings.database_url == "postgresql+asyncpg://u@db/msplex" and not settings.is_sqlite
    assert settings.public_url == "http://127.0.0.1:9001"
    monkeypatch.setenv("MSPLEX_PORT", "eighty")
    with pytest.raises(ValidationError):
        Settings()


def test_default_host_and_origin_patterns_allow_loopback_on_any_port(msplex_home: Path) -> None:
    settings = Settings()
    for host in ("localhost", "localhost:8000", "127.0.0.1:1234", "[::1]", "[::1]:8000", "LOCALHOST:80"):
        assert settings.host_allowed(host), host
    for host in ("evil.com", "localhost.evil.com", "127.0.0.1:80x", "localhost:", "127.0.0.2"):
        assert not settings.host_allowed(host), host
    for origin in ("http://localhost", "https://127.0.0.1:5173", "http://[::1]:3000"):
        assert settings.origin_allowed(origin), origin
    for origin in ("http://evil.com", "null", "http://localhost.evil.com", "ftp://localhost"):
        assert not settings.origin_allowed(origin), origin


def test_public_url_host_is_allowed_unless_lists_are_explicit(msplex_home: Path) -> None:
    published = Settings(public_url="https://gw.example.com/")
    assert published.public_url == "https://gw.example.com"
    assert published.host_allowed("gw.example.com") and published.origin_allowed("https://gw.example.com")
    explicit = Settings(public_url="https://gw.example.com", allowed_hosts=["localhost"])
    assert not explicit.host_allowed("gw.example.com")
    with pytest.raises(ValidationError):
        Settings(public_url="gw.example.com")


def test_slow_client_limits_and_log_sql_have_sane_defaults_and_flat_env_names(
    msplex_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings()
    assert (settings.header_timeout_seconds, settings.body_timeout_seconds, settings.max_connections) == (10, 30, 1000)
    assert settings.log_sql is False
    monkeypatch.setenv("MSPLEX_HEADER_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("MSPLEX_BODY_TIMEOUT_SECONDS", "7")
    monkeypatch.setenv("MSPLEX_MAX_CONNECTIONS", "20")
    monkeypatch.setenv("MSPLEX_LOG_SQL", "1")
    settings = Settings()
    assert (settings.header_timeout_seconds, settings.body_timeout_seconds, settings.max_connections) == (2.5, 7, 20)
    assert settings.log_sql is True
    for name in ("MSPLEX_HEADER_TIMEOUT_SECONDS", "MSPLEX_BODY_TIMEOUT_SECONDS", "MSPLEX_MAX_CONNECTIONS"):
        monkeypatch.setenv(name, "0")
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.delenv(name)
