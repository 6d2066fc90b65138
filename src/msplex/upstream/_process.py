"""The operating-system side of a stdio upstream: spawn it confined, end it and its whole group.

The child never sees the gateway's environment (it holds ``MSPLEX_SECRET_KEY``):
only ``PATH``, ``HOME``, ``LANG``, ``LC_*``, ``TMPDIR`` plus its own ``env``. It
runs in its own process group, so ending it reaches grandchildren too, and on
Linux the kernel ends it if the gateway dies without closing it (``kill -9``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys

__all__ = ["child_env", "kill_group", "spawn", "terminate"]

_ENV_ALLOW = ("PATH", "HOME", "LANG", "TMPDIR")
_LINE_LIMIT = 64 * 1024 * 1024
_GRACE = 2.0
_PR_SET_PDEATHSIG = 1


def child_env(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_ALLOW or k.startswith("LC_")}
    env.update(extra)
    return env


def _die_with_parent() -> None:
    """In the child, before exec: have Linux SIGTERM it if the gateway dies without closing it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def spawn(command: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> asyncio.subprocess.Process:
    """Start ``command`` with pipes on stdin/stdout/stderr; ``OSError`` if it cannot be started."""
    return await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(env),
        start_new_session=True,
        preexec_fn=_die_with_parent,
        limit=_LINE_LIMIT,
    )


def kill_group(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def terminate(proc: asyncio.subprocess.Process) -> None:
    """Close stdin and wait briefly; then SIGTERM the group, SIGKILL after a grace period; reap."""
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
