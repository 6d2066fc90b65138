"""Calling a tenant's tools through an in-process gateway as a client does: an MCP SDK client (2026-07-28) for
the happy paths, raw JSON-RPC for probes that must see the exact wire answer (errors, ``input_required``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from msplex.approvals import Approvals, decide
from msplex.crypto import Keyring
from msplex.state import SharedState
from msplex.store import Store, make_engine
from msplex.store.records import ConnectorEntry, CustomerRecord, ItemRuleRecord, TokenEntry
from support.inproc import InProcess, snapshot, start

__all__ = [
    "MODERN",
    "VendorGateway",
    "approval_store",
    "approved_call",
    "approving",
    "client",
    "ok",
    "raw_call",
    "refused",
    "text",
    "vendor_gateway",
]

MODERN = "2026-07-28"


@contextlib.asynccontextmanager
async def client(gw: InProcess, token: str, tenant: str = "north") -> AsyncIterator[Client]:
    transport = httpx2.ASGITransport(app=gw.edge)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1/mcp/v1/{tenant}"
    async with (
        httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode=MODERN) as mcp,  # type: ignore[arg-type]
    ):
        yield mcp


def text(result: types.CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, types.TextContent)
    return block.text


async def ok(mcp: Client, tool: str, args: dict[str, Any]) -> Any:
    result = await mcp.call_tool(tool, args)
    assert not result.is_error, text(result)
    return result.structured_content


async def refused(mcp: Client, tool: str, args: dict[str, Any]) -> str:
    result = await mcp.call_tool(tool, args)
    assert result.is_error, result
    return text(result)


async def raw_call(
    gw: InProcess, tool: str, args: dict[str, Any], token: str, tenant: str = "north", **params: Any
) -> dict[str, Any]:
    """One ``tools/call`` as a 2026-07-28 client POSTs it; the JSON-RPC response body."""
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": args, "_meta": meta, **params}}  # fmt: skip
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool,
               "Accept": "application/json", "Authorization": f"Bearer {token}"}  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.edge), base_url="http://127.0.0.1") as http:
        response = await http.post(f"/mcp/v1/{tenant}", json=body, headers=headers)
    answer: dict[str, Any] = response.json()
    return answer


async def approval_store(path: Path, customers: Sequence[str] = ()) -> tuple[Store, str, dict[str, CustomerRecord]]:
    """A migrated SQLite store with tenant ``north`` and ``customers`` (slugs): approval requests are kept there,
    so the snapshot of an approving gateway uses this tenant's and these customers' ids."""
    store = Store(make_engine(f"sqlite+aiosqlite:///{path}"), Keyring([os.urandom(32)]))
    await store.migrate()
    tenant = await store.create_tenant("north")
    made = {slug: await store.tenant("north").create_customer(slug, slug.title()) for slug in customers}
    return store, tenant.id, made


def approving(store: Store) -> Callable[[SharedState], Approvals]:
    return lambda state: Approvals(store, state, ttl=600, wait=0)


async def approved_call(gw: InProcess, store: Store, tool: str, args: dict[str, Any], token: str) -> dict[str, Any]:
    """``tools/call`` of a tool that needs approval: held, approved by another person, called again; the result."""
    held = (await raw_call(gw, tool, args, token))["result"]
    assert held.get("resultType") == "input_required", held
    approval = held["_meta"]["msplex/approval"]["id"]
    await decide(store, gw.state, "north", approval, approve=True, approver="k-approver")
    retried = await raw_call(gw, tool, args, token, requestState=held["requestState"])
    assert "result" in retried, retried
    result: dict[str, Any] = retried["result"]
    return result


@dataclass
class VendorGateway:
    """An in-process gateway over a real store: tenant ``north`` (id ``tenant``) with customers ``acme`` and
    ``globex`` and one vendor connector instance; tenant ``beta`` (id ``t-beta``) with none. Tokens:
    ``mspx_admin``, ``mspx_member``, ``mspx_acme``, ``mspx_globex`` (north), ``mspx_beta`` (beta's admin).
    Calls that need an approval are held in the store; ``approved`` plays the approver."""

    gw: InProcess
    store: Store
    tenant: str
    customers: dict[str, CustomerRecord]

    async def approved(self, tool: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        return await approved_call(self.gw, self.store, tool, args, token)

    async def call(self, tool: str, args: dict[str, Any], token: str) -> dict[str, Any]:
        """The tool result, approved by someone else first when the call is held for approval."""
        answer = await raw_call(self.gw, tool, args, token)
        result: dict[str, Any] = answer["result"]
        return await self.approved(tool, args, token) if result.get("resultType") == "input_required" else result

    async def succeeded(self, tool: str, args: dict[str, Any], token: str) -> Any:
        """The structured result of a call that must succeed (approved first when it is held)."""
        result = await self.call(tool, args, token)
        assert result["isError"] is False, result
        return result["structuredContent"]

    async def failed(self, tool: str, args: dict[str, Any], token: str) -> str:
        """The error text of a call that must end in a tool error (approved first when it is held)."""
        result = await self.call(tool, args, token)
        assert result["isError"] is True, result
        return str(result["content"][0]["text"])

    async def close(self) -> None:
        await self.gw.close()
        await self.store.close()


async def vendor_gateway(
    path: Path,
    instance: str,
    connector: Callable[[str, dict[str, str]], ConnectorEntry],
    *,
    rules: Sequence[ItemRuleRecord] | None = None,
) -> VendorGateway:
    """``connector(tenant id, {customer id: slug})`` is the instance's stored entry; ``rules`` default to its
    tools enabled for customers, members and admins."""
    store, tenant, customers = await approval_store(path, ["acme", "globex"])
    tokens = {
        "mspx_admin": TokenEntry(tenant, "k-admin", "admin"),
        "mspx_member": TokenEntry(tenant, "k-member", "member"),
        "mspx_acme": TokenEntry(tenant, "k-acme", "customer", customer_id=customers["acme"].id),
        "mspx_globex": TokenEntry(tenant, "k-globex", "customer", customer_id=customers["globex"].id),
        "mspx_beta": TokenEntry("t-beta", "k-beta", "admin"),
    }
    enabled = [ItemRuleRecord("tool", f"{instance}__*", True, ("customer", "member", "admin"), 1)]
    snap = snapshot(
        [(tenant, "north", False), ("t-beta", "beta", False)], tokens=tokens, customers=list(customers.values()),
        rules={tenant: list(enabled if rules is None else rules), "t-beta": []},
        connectors={tenant: [connector(tenant, {c.id: slug for slug, c in customers.items()})]},
    )  # fmt: skip
    gateway = await start(snap, max_body_bytes=65536, approvals=approving(store))
    return VendorGateway(gateway, store, tenant, customers)
