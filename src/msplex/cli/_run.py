"""How every CLI command runs: settings, a migrated store, and errors as one line.

Contract: a command either succeeds or prints ``error: <what>; <fix>`` on one
line of stderr and exits 2. No traceback reaches the operator (set
``MSPLEX_LOG_LEVEL=debug`` to get one for an unexpected failure), and no
message carries a secret (database passwords are masked).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shlex
import shutil
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError

from msplex.crypto import InvalidKey
from msplex.settings import Settings
from msplex.store import AlreadyExists, NotFound, Store, StoreError

__all__ = [
    "CliError",
    "fail",
    "listen_failure",
    "load_settings",
    "msplex_command",
    "msplex_program",
    "run_with_store",
]

T = TypeVar("T")
EXIT_ERROR = 2


class CliError(Exception):
    """A failure whose message already says what to do."""


def msplex_program() -> str:
    """How the user can run this ``msplex`` from where they stand, for hints they can paste.

    ``msplex`` when that name on PATH is this very program; otherwise (``make run`` runs
    ``.venv/bin/msplex`` with no venv activated) its path, relative to the working directory when
    below it. ``python -m msplex`` counts as the console script beside its interpreter.
    """
    script = Path(sys.argv[0])
    program = (
        script if script.name.startswith("msplex") and script.is_file() else Path(sys.executable).parent / "msplex"
    )
    if not program.is_file():
        return f"{shlex.quote(_shown(Path(sys.executable)))} -m msplex"
    found = shutil.which("msplex")
    if found is not None and os.path.samefile(found, program):
        return "msplex"
    return shlex.quote(_shown(program))


def _shown(path: Path) -> str:
    absolute = path.absolute()  # not resolve(): a venv's bin/python is a symlink out of the venv
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    return str(relative) if len(relative.parts) > 1 else f"./{relative}"


def msplex_command(arguments: str) -> str:
    """``msplex <arguments>`` spelled the way the user can run it (``msplex_program``)."""
    return f"{msplex_program()} {arguments}"


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
            return f"create it with: {msplex_command(f'tenant create {exc.key}')}"
        if exc.kind in ("upstream", "token"):
            return f"see: {msplex_command(f'{exc.kind} list --tenant {exc.tenant}')}"
        if exc.kind == "plan":
            return f"see: {msplex_command('plan list')}"
        if exc.kind == "subscription":
            return f"set one: {msplex_command(f'subscription set --tenant {exc.key} --plan PLAN --status active')}"
        if exc.kind == "approval request":
            return f"see: {msplex_command(f'approvals list --tenant {exc.tenant} --status all')}"
    if isinstance(exc, AlreadyExists):
        if exc.kind == "tenant":
            return f"pick another slug (see: {msplex_command('tenant list')})"
        if exc.kind == "plan":
            return f"pick another name or change it: {msplex_command(f'plan update {exc.key} ...')}"
        if exc.kind == "upstream":
            remove = msplex_command(f"upstream remove {exc.key} --tenant {exc.tenant}")
            return f"pick another or remove it first: {remove}"
    return ""


def listen_failure(exc: OSError, settings: Settings) -> str:
    """Why ``msplex serve`` cannot listen where it was told to, and what to do about it."""
    host = f"[{settings.host}]" if ":" in settings.host and not settings.host.startswith("[") else settings.host
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    if exc.errno == errno.EADDRINUSE:
        fix = "stop the other process or set MSPLEX_PORT"
    elif exc.errno == errno.EACCES:
        fix = "use a port above 1023 or set MSPLEX_PORT"
    else:
        fix = "check MSPLEX_HOST and MSPLEX_PORT"
    return f"cannot listen on {host}:{settings.port} ({reason}); {fix}"


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
        from msplex.httpserver import configure_logging  # only here: it brings uvicorn along

        configure_logging(settings)
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
