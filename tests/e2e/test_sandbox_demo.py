"""``msplex serve --demo`` (what ``make run`` runs) as a newcomer meets it: one real gateway process starts the five
vendor fakes, connects tenant ``demo`` to them, and the printed token makes real tool calls; a customer-bound
token sees its customer only; a restart on the same home seeds nothing twice and re-points the connectors."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
from pathlib import Path
from typing import Any

import httpx

from msplex.connectors.framework.registry import vendor
from msplex.sandbox.demo import KINDS
from support.gateway import GatewayProcess, modern_request

FIRST_CALLS = {  # a read per vendor that lists its customers' records
    "halopsa": "halopsa__list_clients",
    "hudu": "hudu__companies_list",
    "connectwise": "connectwise__list_companies",
    "pax8": "pax8__list_companies",
    "ninjaone": "ninjaone__list_organizations",
}


async def rpc(gw: GatewayProcess, token: str, method: str, params: dict[str, Any] | None = None) -> Any:
    name = (params or {}).get("name") if method == "tools/call" else None
    headers, body = modern_request(method, params, token, name)
    async with httpx.AsyncClient(timeout=30) as http:
        return (await http.post(gw.url("demo"), json=body, headers=headers)).json()


async def call(gw: GatewayProcess, token: str, name: str, args: dict[str, Any] | None = None) -> Any:
    answer = await rpc(gw, token, "tools/call", {"name": name, "arguments": args or {}})
    assert "result" in answer, answer
    return answer["result"]


def fake_ports(log: str) -> list[int]:
    return [int(p) for p in re.findall(r"^  \w+ +.+ http://127\.0\.0\.1:(\d+)\S*  \(", log, re.M)]


def closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def test_demo_sandbox_serves_five_vendors_scoped_and_restarts_idempotently(tmp_path: Path) -> None:
    gw = GatewayProcess(tmp_path / "home", serve_args=("--demo",))
    try:
        gw.start()
        log = gw.log_text()
        token = re.search(r"Token \(shown once\): (\S+)", log)
        assert token is not None, log[-2000:]
        admin = token.group(1)
        first_ports = fake_ports(log)
        assert len(first_ports) == 5, log[-2000:]

        # tools/list: each vendor's read-only tools, and no write tool
        tools = (await rpc(gw, admin, "tools/list"))["result"]["tools"]
        listed = {t["name"] for t in tools}
        for kind in KINDS:
            read_only = {f"{kind}__{t.name}" for t in vendor(kind).tools if t.read_only}
            writes = {f"{kind}__{t.name}" for t in vendor(kind).tools if not t.read_only}
            assert read_only <= listed, sorted(read_only - listed)
            assert not writes & listed, sorted(writes & listed)
        assert all(t["annotations"]["readOnlyHint"] is True for t in tools if t["name"].split("__")[0] in KINDS)

        # a call per vendor returns the fake's records, both customers for the tenant's admin
        for kind, name in FIRST_CALLS.items():
            result = await call(gw, admin, name)
            text = json.dumps(result.get("structuredContent"))
            assert result["isError"] is False and "Acme" in text and "Globex" in text, (kind, result)

        # a token bound to demo customer acme sees Acme's records only, and not Globex's by id
        _, out, _ = await gw.acli("token", "create", "-t", "demo", "--role", "customer", "--customer", "acme")
        acme = out.strip().splitlines()[-1]
        for _ in range(100):  # a new token reaches the running gateway within about a second (control plane)
            if "result" in await rpc(gw, acme, "tools/list"):
                break
            await asyncio.sleep(0.05)
        for kind in ("halopsa", "connectwise", "ninjaone", "pax8", "hudu"):
            result = await call(gw, acme, FIRST_CALLS[kind])
            text = json.dumps(result.get("structuredContent"))
            assert result["isError"] is False and "Acme" in text and "Globex" not in text, (kind, result)
        for kind, tool, arg in (
            ("halopsa", "halopsa__get_client", "id"),
            ("ninjaone", "ninjaone__get_organization", "organization_id"),
            ("connectwise", "connectwise__get_company", "id"),
        ):
            _, shown, _ = await gw.acli("connector", "show", kind, "-t", "demo")
            globex = re.search(r"globex -> (\d+)", shown)
            assert globex is not None, shown
            foreign = await call(gw, acme, tool, {arg: int(globex.group(1))})
            assert foreign["isError"] is True and "Globex" not in json.dumps(foreign), (kind, foreign)
            allowed = await call(gw, admin, tool, {arg: int(globex.group(1))})
            assert allowed["isError"] is False and "Globex" in json.dumps(allowed), (kind, allowed)

        _, status, _ = await gw.acli("status")
        assert "-> Current build: 5 connectors" in status, status
        _, status, _ = await gw.acli("status", "--tenant", "demo")
        assert "-> Current build: 5 connectors in tenant demo" in status, status

        # SIGTERM: the gateway drains, the fakes stop with it, the exit is SIGTERM's as without --demo
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGTERM)
        assert gw.proc.wait(15) == -signal.SIGTERM
        assert all(closed(port) for port in first_ports)

        # restart on the same home: nothing created twice, connectors re-pointed at the new ports
        _, rules_before, _ = await gw.acli("tool", "list", "-t", "demo")
        gw.log.write_text("")
        gw.start()
        log = gw.log_text()
        assert "Created tenant" not in log and "Token (shown once)" not in log and "(created:" not in log
        assert log.count("(re-pointed)") == 5, log[-2000:]
        _, rules_after, _ = await gw.acli("tool", "list", "-t", "demo")
        assert rules_after == rules_before
        _, customers, _ = await gw.acli("customer", "list", "-t", "demo")
        assert [line.split()[0] for line in customers.strip().splitlines()[1:]] == ["acme", "globex"]
        for kind, name in FIRST_CALLS.items():
            result = await call(gw, acme, name)
            assert result["isError"] is False and "Acme" in json.dumps(result["structuredContent"]), (kind, result)
    finally:
        gw.stop()
