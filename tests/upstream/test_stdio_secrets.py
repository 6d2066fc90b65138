"""A stdio upstream's secrets: sealed by the vault, given to the child as environment variables only
(never in its stored or shown command line, never in its argv for ``ps``), and never shown back."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from msplex.crypto import Keyring
from msplex.store import Store, make_engine
from msplex.store.models import utcnow
from msplex.store.records import TokenEntry, UpstreamEntry
from msplex.upstream import UpstreamSpec
from support.inproc import snapshot, start

EVERYTHING = Path(__file__).resolve().parents[1] / "fixtures" / "upstreams" / "everything.py"
SECRET = "stdio-s3cret-value-81f2"
MODERN = "2026-07-28"


async def test_env_secrets_are_sealed_and_shown_by_name_only(tmp_path: Path) -> None:
    store = Store(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db'}"), Keyring([b"k" * 32]))
    await store.migrate()
    try:
        await store.create_tenant("acme")
        acme = store.tenant("acme")
        command = [sys.executable, str(EVERYTHING), "--stdio"]
        record = await acme.add_upstream("sio", command=command, env={"API_TOKEN": SECRET})
        assert record.env_names == ("API_TOKEN",) and SECRET not in repr(record)
        assert SECRET not in " ".join(record.command)
        async with store.reader() as session:
            raw = " ".join(str(v) for v in (await session.execute(sa.text("SELECT * FROM upstreams"))).one())
        assert SECRET not in raw
        (entry,) = await acme.upstream_entries()
        assert dict(entry.spec.env) == {"API_TOKEN": SECRET} and SECRET not in repr(entry)
        with pytest.raises(Exception, match="only a stdio upstream"):
            await acme.add_upstream("web", url="https://93.184.215.14/mcp", env={"X": "y"})
        with pytest.raises(Exception, match="set by the gateway"):
            await acme.add_upstream("bad", command=command, env={"LD_PRELOAD": "/tmp/x.so"})
    finally:
        await store.close()


async def _call(gw: object, tool: str) -> str:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}, "_meta": meta}}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool,
               "Accept": "application/json", "Authorization": "Bearer mspx_admin"}  # fmt: skip
    transport = httpx.ASGITransport(app=gw.edge)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        response = await http.post("/mcp/v1/acme", json=body, headers=headers, timeout=60)
    text: str = response.json()["result"]["content"][0]["text"]
    return text


def _proc(pid: int, what: str) -> bytes:
    return Path(f"/proc/{pid}/{what}").read_bytes()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the child's argv from /proc")
async def test_the_child_gets_the_secret_in_its_environment_not_its_argv() -> None:
    spec = UpstreamSpec("t1", "sio", "stdio", command=(sys.executable, str(EVERYTHING), "--stdio"),
                        env=(("API_TOKEN", SECRET),))  # fmt: skip
    snap = snapshot(
        [("t1", "acme", False)],
        {"mspx_admin": TokenEntry("t1", "k-admin", "admin")},
        {"t1": [UpstreamEntry("u-1", spec, True, utcnow())]},
    )
    gw = await start(snap)
    try:
        names = await _call(gw, "sio__env")
        assert "API_TOKEN" in names.split(",")
        pid = int(await _call(gw, "sio__pid"))
        argv, environ = _proc(pid, "cmdline"), _proc(pid, "environ")
        assert SECRET.encode() not in argv
        assert f"API_TOKEN={SECRET}".encode() in environ.split(b"\0")
    finally:
        await gw.close()
