"""Stage 3: resolve what the call is for, before any policy stage looks at it.

A ``tools/call``, ``prompts/get``, ``resources/read``, resource subscription or
completion names an item; this stage finds it among the items the caller may
see (``msplex.access``: an item the caller may not call is answered exactly as
one that does not exist) and records the ``Target`` (provider, connector
instance, the name there), which every later stage reads and dispatch executes. A name nobody lists is answered
at once once every source has been listed or has failed at least once; right
after start-up a late source is given a moment. A 2026-07-28 call's
``Mcp-Param-*`` headers must agree with its arguments: an intermediary routes
on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from msplex.call import Call, Target
from msplex.catalogue.merged import Catalogue
from msplex.catalogue.tenant import TenantCatalogue
from msplex.chain.stage import Applies
from msplex.errors import Code, RpcError, Stage
from msplex.protocol.headers import param_header_mismatch

__all__ = ["TARGETED", "ResolveTarget"]

_NAMED = {"tools/call": ("tool", "name"), "prompts/get": ("prompt", "name")}
_BY_URI = ("resources/read", "resources/subscribe", "resources/unsubscribe")
TARGETED = frozenset({*_NAMED, *_BY_URI, "completion/complete"})
"""The methods that name an item, and so get a target."""


class ResolveTarget:
    name: ClassVar[Stage] = Stage.RESOLVE_TARGET
    applies: ClassVar[Applies] = Applies.DISPATCHED

    def __init__(self, catalogues: Callable[[str], TenantCatalogue | None]) -> None:
        self._catalogues = catalogues

    async def __call__(self, call: Call) -> Call:
        method = call.method
        if method not in TARGETED:
            return call
        assert call.tenant is not None  # resolve_tenant ran
        tenant = self._catalogues(call.tenant.id)
        if tenant is None:
            raise RpcError(Code.NOT_FOUND, "this tenant has no catalogue")
        assert call.viewer is not None
        lookup = _lookup(method, call.params)
        target = lookup(tenant.current)
        if target is None:
            await tenant.settle()
            target = lookup(tenant.current)
        if target is None or not tenant.access.visible(tenant.current, call.viewer)(target):
            raise _not_found(method, call.params)
        if method == "tools/call" and call.era == "modern" and call.headers is not None:
            mapping = tenant.current.param_maps.get(target.public)
            if mapping:
                problem = param_header_mismatch(mapping, call.params.get("arguments"), call.headers)
                if problem is not None:
                    raise RpcError(Code.HEADER_MISMATCH, problem)
        return call.learned(target=target)


def _lookup(method: str, params: dict[str, Any]) -> Callable[[Catalogue], Target | None]:
    """How to find the call's item in a catalogue; a malformed request is refused here, before any wait."""
    if method in _NAMED:
        kind, key = _NAMED[method]
        name = params.get(key)
        if not isinstance(name, str):
            raise RpcError(Code.INVALID_PARAMS, f"{method} needs a '{key}' parameter naming the {kind} (a string)")
        return lambda cat: (cat.tools if kind == "tool" else cat.prompts).get(name)
    if method in _BY_URI:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise RpcError(Code.INVALID_PARAMS, f"{method} needs a 'uri' parameter (a string)")
        return lambda cat: cat.route_uri(uri)
    ref = params.get("ref")
    if isinstance(ref, dict):
        ref_type, prompt, ref_uri = ref.get("type"), ref.get("name"), ref.get("uri")
        if ref_type == "ref/prompt" and isinstance(prompt, str):
            return lambda cat: cat.prompts.get(prompt)
        if ref_type == "ref/resource" and isinstance(ref_uri, str):
            return lambda cat: cat.route_uri(ref_uri)
    raise RpcError(
        Code.INVALID_PARAMS, "completion/complete needs a ref/prompt with a name or a ref/resource with a uri"
    )


def _not_found(method: str, params: dict[str, Any]) -> RpcError:
    if method == "tools/call":
        return RpcError(Code.NOT_FOUND, f"Unknown tool: {params.get('name')}")
    if method == "prompts/get":
        return RpcError(Code.NOT_FOUND, f"Unknown prompt: {params.get('name')}")
    if method == "completion/complete":
        ref = params.get("ref") or {}
        if ref.get("type") == "ref/prompt":
            return RpcError(Code.NOT_FOUND, f"Unknown prompt: {ref.get('name')}")
        return RpcError(Code.NOT_FOUND, f"Resource not found: {ref.get('uri')}", {"uri": ref.get("uri")})
    uri = params.get("uri")
    return RpcError(Code.NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
