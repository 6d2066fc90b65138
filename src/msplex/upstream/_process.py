"""The operating-system side of a stdio upstream: spawn it confined, end it and its whole group.

A stdio upstream runs a command on the gateway's host, so it must not be able to
read what the gateway guards (the key in ``MSPLEX_HOME``, which opens every
tenant's secrets, and the database):

* its environment is an allow-list (``PATH``, ``LANG``, ``LC_*``) plus its own
  ``env``; never the gateway's (``MSPLEX_SECRET_KEY`` may be there);
* it starts in a working directory of its own (mode 0700), which is also its
  ``HOME`` and ``TMPDIR``, removed when it ends;
* when the gateway runs as root it runs as an unprivileged user (``nobody``, or
  ``MSPLEX_STDIO_USER``), who cannot read the gateway's home (mode 0700);
* it runs in its own process group, so ending it reaches grandchildren too, and on
  Linux the kernel ends it if the gateway dies without closing it (``kill -9``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Child", "child_env", "default_user", "kill_group", "spawn", "terminate"]

_ENV_ALLOW = ("PATH", "LANG")
_LINE_LIMIT = 64 * 1024 * 1024
_GRACE = 2.0
_PR_SET_PDEATHSIG = 1


def child_env(extra: tuple[tuple[str, str], ...], home: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_ALLOW or k.startswith("LC_")}
    if home is not None:
        env["HOME"] = env["TMPDIR"] = home
    env.update(extra)
    return env


def default_user(configured: str | None) -> str | None:
    """Who stdio upstreams run as: ``configured`` (empty: the gateway's own user), else ``nobody`` when the
    gateway runs as root (and the gateway's own user otherwise)."""
    if configured is not None:
        return configured or None
    return "nobody" if os.geteuid() == 0 else None


@dataclass(frozen=True, slots=True)
class Child:
    process: asyncio.subprocess.Process
    workdir: str


def _confine(account: pwd.struct_passwd | None) -> Callable[[], None]:
    """What the child does before exec: die with the gateway (Linux: the kernel SIGTERMs it if the gateway
    dies without closing it) and, when given an account, become it (groups, then group, then user: in
    that order, or the later calls are no longer allowed). Done here rather than with the ``user``
    arguments of asyncio, which uvloop does not take."""

    def confine() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if account is not None:
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)

    return confine


async def spawn(command: tuple[str, ...], env: tuple[tuple[str, str], ...], user: str | None = None) -> Child:
    """Start ``command`` confined (see the module docstring) with pipes on stdin/stdout/stderr;
    ``OSError`` if it cannot be started (``KeyError`` wrapped as one for an unknown user)."""
    workdir = tempfile.mkdtemp(prefix="msplex-stdio-")
    try:
        account = pwd.getpwnam(user) if user is not None else None
        if account is not None:
            os.chown(workdir, account.pw_uid, account.pw_gid)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env(env, workdir),
            cwd=workdir,
            start_new_session=True,
            preexec_fn=_confine(account),
            limit=_LINE_LIMIT,
        )
    except KeyError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise OSError(f"no such user {user!r} to run stdio upstreams as (MSPLEX_STDIO_USER)") from None
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Child(process, workdir)


def kill_group(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def terminate(child: Child) -> None:
    """Close stdin and wait briefly; then SIGTERM the group, SIGKILL after a grace period; reap; remove
    the working directory."""
    proc = child.process
    if proc.stdin is not None:
        proc.stdin.close()
    if proc.returncode is None:
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), 0.5)
        except TimeoutError:
            kill_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), _GRACE)
            except TimeoutError:
                kill_group(proc.pid, signal.SIGKILL)
                await proc.wait()
    kill_group(proc.pid)  # stragglers left in the group
    shutil.rmtree(child.workdir, ignore_errors=True)
