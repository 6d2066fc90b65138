"""What the per-vendor security matrices share: a gateway with an approval store (so destructive tools are
probed past approval, at the connector), and the verdict on one probe's answer."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msplex.connectors.framework import ToolSpec
from msplex.store import Store
from msplex.store.records import ConnectorEntry, ItemRuleRecord, TokenEntry
from support.inproc import InProcess, snapshot, start
from support.mcp_tools import approval_store, approved_call, approving, raw_call

__all__ = ["Matrix", "open_matrix", "verdict"]


@dataclass
class Matrix:
    gw: InProcess
    store: Store

    async def probe(self, instance: str, spec: ToolSpec, args: dict[str, Any], token: str) -> dict[str, Any]:
        """The tool result a customer-bound ``token`` gets; a destructive tool is approved first (by someone else)."""
        tool = f"{instance}__{spec.name}"
        if spec.destructive:
            return await approved_call(self.gw, self.store, tool, args, token)
        answer = await raw_call(self.gw, tool, args, token)
        result: dict[str, Any] = answer["result"]
        return result

    async def close(self) -> None:
        await self.gw.close()
        await self.store.close()


async def open_matrix(path: Path, instance: str, connector: Callable[[str, dict[str, str]], ConnectorEntry]) -> Matrix:
    """Tenant ``north`` (customers ``acme``, ``globex``; token ``mspx_globex`` bound to Globex) with ``instance``'s
    tools enabled for customers, and tenant ``beta`` (token ``mspx_beta``, an admin) with no connector."""
    store, tenant, customers = await approval_store(path, ["acme", "globex"])
    tokens = {
        "mspx_globex": TokenEntry(tenant, "k-globex", "customer", customer_id=customers["globex"].id),
        "mspx_beta": TokenEntry("t-beta", "k-beta", "admin"),
    }
    snap = snapshot(
        [(tenant, "north", False), ("t-beta", "beta", False)], tokens=tokens, customers=list(customers.values()),
        rules={tenant: [ItemRuleRecord("tool", f"{instance}__*", True, ("customer", "member", "admin"), 1)],
               "t-beta": []},
        connectors={tenant: [connector(tenant, {c.id: slug for slug, c in customers.items()})]},
    )  # fmt: skip
    return Matrix(await start(snap, max_body_bytes=65536, approvals=approving(store)), store)


def verdict(
    tool: str,
    result: dict[str, Any],
    *,
    lookups: Collection[str],
    own_only: Collection[str],
    owns: Callable[[Any], bool],
) -> None:
    """A lookup answers; an own-only list answers with the caller's records only; anything else is refused."""
    if tool in lookups:
        assert result["isError"] is False, result
    elif tool in own_only:
        assert result["isError"] is False, result
        assert all(owns(item) for item in result["structuredContent"]["items"])
    else:
        text = str(result)
        assert result["isError"] is True, result
        assert "not found" in text or "unavailable to a call bound to a customer" in text, text
