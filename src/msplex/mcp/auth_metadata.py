"""The resource-server side of MCP authorization (RFC 9728, RFC 6750), for every MCP endpoint.

* ``/.well-known/oauth-protected-resource{endpoint path}`` describes an endpoint: the
  resource URL, the authorization servers where the tenant (or the deployment) has an
  identity provider, and that bearer tokens go in the header. It answers for any
  well-formed path, so it tells nobody which tenants or entities exist.
* A 401 or 403 from the chain carries ``WWW-Authenticate: Bearer resource_metadata=...``
  and, where the chain says so, ``error`` and an ``error_description`` naming the failed
  check or the fix.
* MSPlex is not an authorization server: its well-known AS paths and ``/register`` answer
  with a problem body saying the endpoint takes a bearer token and how to get one, so a
  client that follows a 401 into OAuth discovery ends with a message a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from msplex.errors import Code, Denied, RpcError
from msplex.mcp.http import Send, send_json, send_problem
from msplex.protocol.jsonrpc import JSON

if TYPE_CHECKING:
    from msplex.mcp.edge import Request

__all__ = ["AS_PATHS", "PRM_PREFIX", "challenge", "not_an_authorization_server", "protected_resource"]

PRM_PREFIX = "/.well-known/oauth-protected-resource"
AS_PATHS = re.compile(
    r"^(/\.well-known/(oauth-authorization-server|openid-configuration)(/.*)?|/register|/authorize|/token|"
    r"/mcp(/v1/[^/]+|/entities/[^/]+)?/\.well-known/(oauth-authorization-server|openid-configuration))/?$"
)
_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')
HOW_TO_GET_A_TOKEN = (
    "this endpoint takes a bearer token: a MSPlex personal access token (an administrator creates one with "
    "'msplex token create --tenant TENANT') or, where the MSP has configured one, a token from its identity provider"
)


def _quoted(text: str) -> str:
    return _UNSAFE.sub("'", text)[:400]


def challenge(request: Request, exc: RpcError) -> list[tuple[bytes, bytes]]:
    """The ``WWW-Authenticate`` header for a denial answered 401 or 403 (nothing for other errors)."""
    if exc.code not in (Code.UNAUTHENTICATED, Code.FORBIDDEN):
        return []
    parts = [f'resource_metadata="{request.resource_metadata}"']
    if isinstance(exc, Denied) and (exc.challenge or exc.code is Code.UNAUTHENTICATED):
        error = exc.challenge or "invalid_token"
        description = exc.reason if request.credential is not None else f"{exc.reason}; {HOW_TO_GET_A_TOKEN}"
        parts += [f'error="{error}"', f'error_description="{_quoted(description)}"']
    return [(b"www-authenticate", ("Bearer " + ", ".join(parts)).encode("latin-1", "replace"))]


async def protected_resource(send: Send, public_url: str, endpoint: str, issuers: Callable[[str], list[str]]) -> None:
    """RFC 9728 metadata of the MCP endpoint at ``endpoint`` (a path)."""
    document: JSON = {
        "resource": f"{public_url}{endpoint}",
        "bearer_methods_supported": ["header"],
        "resource_name": "MSPlex MCP endpoint",
        "authorization_servers": issuers(endpoint),
    }
    if not document["authorization_servers"]:
        document["msplex_note"] = HOW_TO_GET_A_TOKEN
    await send_json(send, 200, document, [(b"cache-control", b"max-age=300")])


async def not_an_authorization_server(send: Send, path: str) -> None:
    status = 400 if path.rstrip("/") == "/register" else 404
    await send_problem(
        send, status, "Not an authorization server", f"MSPlex does not issue OAuth tokens; {HOW_TO_GET_A_TOKEN}"
    )
