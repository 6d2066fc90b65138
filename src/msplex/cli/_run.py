"""How every CLI command runs: settings, a migrated store, and errors as one line.

Contract: a command either succeeds or prints ``error: <what>; <fix>`` on one
line of stderr and exits 2. No traceback reaches the operator (set
``MSPLEX_LOG_LEVEL=debug`` to get one for an unexpected failure), and no
message carries a secret (database passwords are masked).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError

from msplex.crypto import InvalidKey
from msplex.settings import Settings
from msplex.store import AlreadyExists, NotFound, Store, StoreError

__all__ = ["CliError", "fail", "load_settings", "run_with_store"]

T = TypeVar("T")
EXIT_ERROR = 2


class CliError(Exception):
    """A failure whose message already says what to do."""


def fail(message: str) -> NoReturn:
    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    typer.echo(f"error: {line}", err=True)
    raise typer.Exit(EXIT_ERROR)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        env = f"MSPLEX_{field.upper()}" if field != "settings" else "MSPLEX_*"
        fail(f"invalid configuration {env}: {first.get('msg', 'invalid value')}")


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def _hint(exc: StoreError) -> str:
    if isinstance(exc, NotFound):
        if exc.kind == "tenant":
            return f"create it with: msplex tenant create {exc.key}"
        if exc.kind in ("upstream", "token"):
            return f"see: msplex {exc.kind} list --tenant {exc.tenant}"
    if isinstance(exc, AlreadyExists):
        if exc.kind == "tenant":
            return "pick another slug (see: msplex tenant list)"
        if exc.kind == "upstream":
            return f"pick another or remove it first: msplex upstream remove {exc.key} --tenant {exc.tenant}"
    return ""


def describe(exc: BaseException, settings: Settings) -> str:
    """One line saying what failed and how to fix it."""
    if isinstance(exc, StoreError):
        hint = _hint(exc)
        return f"{exc.message}; {hint}" if hint else exc.message
    if isinstance(exc, (CliError, InvalidKey)):
        return str(exc)
    if isinstance(exc, (ArgumentError, NoSuchModuleError)):
        return (
            f"MSPLEX_DATABASE_URL is not a usable database URL ({_safe_url(settings.database_url)}); "
            "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST/DB"
        )
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot use {exc.filename} ({exc.strerror}); check MSPLEX_HOME and its permissions"
    if isinstance(exc, (OperationalError, InterfaceError, DBAPIError, OSError, ConnectionError)):
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return (
            f"cannot use the database at {_safe_url(settings.database_url)} ({reason}); "
            "check MSPLEX_DATABASE_URL and that the database is running"
        )
    return f"unexpected {type(exc).__name__}; rerun with MSPLEX_LOG_LEVEL=debug for details"


def run_with_store(
    fn: Callable[[Store, Settings], Awaitable[T]], settings: Settings | None = None, *, quiet: bool = True
) -> T:
    """Run ``fn`` against a migrated store; turn any failure into ``fail``.

    ``quiet`` silences library logging (every command but ``serve``, whose server owns logging).
    """
    settings = settings or load_settings()
    debug = settings.log_level == "debug"
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    previous = logging.root.manager.disable
    if quiet and not debug:  # library log lines would break the one-line error contract
        logging.disable(logging.CRITICAL)

    async def _go() -> T:
        store = Store.from_settings(settings)
        try:
            await store.migrate()
            return await fn(store, settings)
        finally:
            await store.close()

    try:
        return asyncio.run(_go())
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        fail(describe(exc, settings))
    finally:
        logging.disable(previous)
