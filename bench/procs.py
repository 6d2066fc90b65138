"""Child processes of the benchmark: started in their own session, always reaped.

Every process the benchmark starts goes through `spawn`, which puts it in a new process group
and guarantees, on exit of the `async with`, SIGTERM to that group, a bounded wait and SIGKILL.
Only groups we created are ever signalled. Output goes to a log file under the run directory,
quoted in errors so a failed start explains itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

__all__ = ["StartError", "free_port", "log_tail", "run_cmd", "spawn", "wait_http", "wait_line"]


class StartError(RuntimeError):
    """A target could not be started or configured; the message says why (log tail included)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@asynccontextmanager
async def spawn(
    argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Start `argv` (stdout+stderr → `log`); on exit terminate its whole process group."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        await _stop_group(proc)


async def _stop_group(proc: asyncio.subprocess.Process, grace: float = 8.0) -> None:
    pgid = proc.pid  # start_new_session: the child leads its own group
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            continue
        # the leader is gone; give its group members a moment, then make sure
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                break
            await asyncio.sleep(0.05)
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def run_cmd(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, limit_s: float = 120.0, cwd: Path | None = None
) -> str:
    """Run to completion and return stdout; a non-zero exit raises `StartError` with stderr."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env) if env is not None else None,
        cwd=str(cwd) if cwd else None,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise StartError(f"{argv[0]} timed out after {limit_s:.0f}s") from None
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-8:]
        raise StartError(f"`{' '.join(argv[:4])} …` exited {proc.returncode}: " + " | ".join(tail))
    return out.decode(errors="replace")


async def wait_http(
    url: str,
    *,
    proc: asyncio.subprocess.Process,
    log: Path,
    limit_s: float = 60.0,
    ok: tuple[int, ...] | None = (200,),
) -> None:
    """Poll `url` until it answers one of `ok` (None: any HTTP answer), the process dies, or `limit_s`."""
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise StartError(f"exited with {proc.returncode} during start-up:\n{log_tail(log)}")
            try:
                async with http.get(url) as resp:
                    if ok is None or resp.status in ok:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise StartError(f"no answer from {url} within {limit_s:.0f}s:\n{log_tail(log)}")


async def wait_line(log: Path, prefix: str, *, proc: asyncio.subprocess.Process, limit_s: float = 30.0) -> str:
    """Wait until `log` has a line starting with `prefix`; return that line."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        for line in text.splitlines():
            if line.startswith(prefix):
                return line
        if proc.returncode is not None:
            raise StartError(f"exited with {proc.returncode} during start-up:\n{log_tail(log)}")
        await asyncio.sleep(0.05)
    raise StartError(f"no {prefix!r} line within {limit_s:.0f}s:\n{log_tail(log)}")
