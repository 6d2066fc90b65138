"""How a 2026-07-28 request to one upstream is framed: the ``_meta`` envelope and the routing headers.

``Mcp-Name`` carries the item's name; ``Mcp-Param-*`` mirror the arguments the
upstream's own ``tools/list`` marked with ``x-mcp-header`` (learned from every
listing, so a changed schema takes effect at the next list).
"""

from __future__ import annotations

from msplex import protocol
from msplex.protocol.headers import ParamMap, encode_header_value, param_header_map, param_headers
from msplex.upstream.base import JSON

__all__ = ["ModernFraming"]


class ModernFraming:
    def __init__(self) -> None:
        self.envelope: JSON = {}
        """The gateway's own ``_meta`` envelope, set once the upstream answered ``server/discover``."""
        self._param_maps: dict[str, ParamMap] = {}

    def stamp(self, params: JSON | None) -> JSON:
        """``params`` with the envelope; the caller's envelope keys win (a gateway forwards its
        client's capabilities)."""
        out = dict(params) if params else {}
        meta = out.get("_meta")
        out["_meta"] = {**self.envelope, **meta} if isinstance(meta, dict) else self.envelope
        return out

    def headers(self, base: dict[str, str], method: str, params: JSON) -> dict[str, str]:
        headers = dict(base)
        headers["Mcp-Method"] = method
        key = protocol.NAME_BEARING.get(method)
        if key is not None:
            value = params.get(key)
            if isinstance(value, str):
                headers["Mcp-Name"] = encode_header_value(value)
            if method == "tools/call" and self._param_maps:
                mapping = self._param_maps.get(value) if isinstance(value, str) else None
                if mapping:
                    headers.update(param_headers(mapping, params.get("arguments")))
        return headers

    def learn(self, result: JSON) -> None:
        """Remember which tools of a ``tools/list`` page mirror arguments into headers."""
        tools = result.get("tools")
        if not isinstance(tools, list):
            return
        for tool in tools:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                mapping = param_header_map(tool.get("inputSchema"))
                if mapping:
                    self._param_maps[tool["name"]] = mapping
                else:
                    self._param_maps.pop(tool["name"], None)
