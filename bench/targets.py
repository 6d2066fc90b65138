"""The targets under load: each an async context manager yielding a ready `Endpoint`.

A target owns its processes for the duration of the `async with` and nothing else; the shared echo
upstream (HTTP) is started once by the caller and passed in through `Context`. Targets are started
one at a time, so no two compete for the machine's two cores.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.idp import AUDIENCE, BenchIdp
from bench.peers import MCP_PROXY, ensure_venv
from bench.procs import StartError, free_port, run_cmd, spawn, wait_http
from bench.runner import Endpoint

__all__ = ["Context", "TargetFactory", "direct", "is_stdio_upstream", "mcp_proxy", "msplex"]


@dataclass(frozen=True)
class Context:
    run_dir: Path  # logs and throw-away state of this run
    cache_dir: Path  # .cache/bench: peer venvs, reused across runs
    python: str  # the main venv's interpreter (runs the echo upstream everywhere)
    upstream_script: Path
    upstream_url: str  # the shared HTTP echo upstream
    upstream_pid: int

    @property
    def stdio_upstream_cmd(self) -> list[str]:
        return [self.python, str(self.upstream_script), "--stdio"]


TargetFactory = Callable[[Context], AbstractAsyncContextManager[Endpoint]]


def is_stdio_upstream(cmd: str) -> bool:
    """True for the echo upstream run as a stdio child (excluded from a gateway's cost).

    Matches `python …/upstream.py --stdio` itself (or a shell running it), never a proxy whose own
    argv merely carries that command after `--`.
    """
    argv = cmd.split()
    if len(argv) >= 2 and argv[1].endswith("upstream.py") and "--stdio" in argv:
        return True
    return len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash", "dash") and argv[1] == "-c" and "upstream.py" in cmd


@asynccontextmanager
async def direct(ctx: Context) -> AsyncIterator[Endpoint]:
    """The upstream itself: the baseline every gateway is compared with."""
    yield Endpoint(url=ctx.upstream_url, tool="echo", roots=(ctx.upstream_pid,), upstream_roots=(ctx.upstream_pid,))


Identity = Literal["pat", "scoped-pat", "oidc"]


ENFORCED: tuple[tuple[str, ...], ...] = (
    ("plan", "create", "bench-plan", "--connectors", "echo", "--calls-per-month", "1000000000000"),
    ("subscription", "set", "--tenant", "bench", "--plan", "bench-plan", "--status", "active"),
    ("policy", "add", "members-no-destructive", "--tenant", "bench", "--effect", "deny", "--audience", "member",
     "--destructive"),
    ("policy", "add", "own-customer-ids", "--tenant", "bench", "--effect", "deny",
     "--when", "has(args.customer_id) && args.customer_id != customer.id"),
    ("policy", "add", "no-huge-text", "--tenant", "bench", "--effect", "deny",
     "--when", "has(args.text) && size(args.text) > 4096"),
    ("quota", "set", "daily", "--tenant", "bench", "--limit", "1000000000", "--window", "day"),
)  # fmt: skip
"""Every stage with something to do: a plan (with a monthly allowance: one more counter) and an active
subscription, three policy rules none of which denies the call (two evaluate a CEL condition per call), and a
daily quota. Audit is durable in every row."""


def msplex(*, stdio: bool, identity: Identity = "pat", enforced: bool = False) -> TargetFactory:
    """MSPlex started exactly as a user would: fresh MSPLEX_HOME, CLI set-up, `msplex serve`. The client
    presents a member's personal access token (``pat``), one narrowed to tool patterns (``scoped-pat``),
    or a JWT from a local identity provider that the gateway verifies once and caches (``oidc``).
    ``enforced`` adds a plan, a subscription, three policy rules and a quota (``ENFORCED``)."""

    @asynccontextmanager
    async def _target(ctx: Context) -> AsyncIterator[Endpoint]:
        exe = str(Path(ctx.python).parent / "msplex")
        if not os.access(exe, os.X_OK):
            raise StartError(f"{exe} not found: is msplex installed in the venv?")
        home = ctx.run_dir / f"msplex-{'stdio' if stdio else 'http'}-{identity}{'-enforced' if enforced else ''}"
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {
            **os.environ,
            "MSPLEX_HOME": str(home),
            "MSPLEX_HOST": "127.0.0.1",
            "MSPLEX_PORT": str(port),
            "MSPLEX_STDIO_USER": "",  # the echo upstream runs on this venv's interpreter
        }
        env.pop("MSPLEX_DATABASE_URL", None)  # the embedded default: SQLite in MSPLEX_HOME
        idp = BenchIdp() if identity == "oidc" else None
        if idp is not None:
            env.update(MSPLEX_OIDC_ISSUER=idp.issuer, MSPLEX_OIDC_AUDIENCE=AUDIENCE)
        await run_cmd([exe, "tenant", "create", "bench"], env=env)
        await run_cmd([exe, "tool", "enable", "echo__*", "--tenant", "bench"], env=env)
        source = ["--command", " ".join(ctx.stdio_upstream_cmd)] if stdio else ["--url", ctx.upstream_url]
        await run_cmd([exe, "upstream", "add", "echo", "--tenant", "bench", *source], env=env)
        for command in ENFORCED if enforced else ():
            await run_cmd([exe, *command], env=env)
        scope = ["--tools", "echo__*", "--tools", "other__*"] if identity == "scoped-pat" else []
        out = await run_cmd([exe, "token", "create", "--tenant", "bench", *scope], env=env)
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        if not lines:
            raise StartError("msplex token create printed no token")
        token = idp.mint({"msplex_tenant": "bench"}) if idp is not None else lines[-1]
        log = ctx.run_dir / f"{home.name}.log"
        async with contextlib.AsyncExitStack() as stack:
            if idp is not None:
                stack.callback(idp.close)
            proc = await stack.enter_async_context(spawn([exe, "serve"], log=log, env=env))
            await wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc, log=log, ok=None)
            yield Endpoint(
                url=f"http://127.0.0.1:{port}/mcp/v1/bench",
                tool="echo__echo",
                roots=(proc.pid,),
                headers={"Authorization": f"Bearer {token}"},
                exclude=is_stdio_upstream,
                upstream_roots=() if stdio else (ctx.upstream_pid,),
                upstream_is_child=stdio,
                upstream_match=is_stdio_upstream,
            )

    return _target


@asynccontextmanager
async def mcp_proxy(ctx: Context) -> AsyncIterator[Endpoint]:
    """mcp-proxy 0.13.0 in its own venv, bridging the echo upstream (stdio child) to Streamable HTTP."""
    bindir = await ensure_venv(MCP_PROXY, ctx.cache_dir)
    port = free_port()
    log = ctx.run_dir / "mcp-proxy.log"
    argv = [
        str(bindir / "mcp-proxy"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "WARNING",
        "--",
        *ctx.stdio_upstream_cmd,
    ]
    async with spawn(argv, log=log) as proc:
        await wait_http(f"http://127.0.0.1:{port}/status", proc=proc, log=log, ok=None)
        yield Endpoint(
            url=f"http://127.0.0.1:{port}/mcp",
            tool="echo",
            roots=(proc.pid,),
            exclude=is_stdio_upstream,
            upstream_is_child=True,
            upstream_match=is_stdio_upstream,
        )
