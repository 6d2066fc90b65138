"""An HTTP transport that connects only to public addresses, for vendor connectors a tenant registered.

The admin API checks a tenant's base and token URLs when they are saved; this checks again at every new
connection, and connects to the very address it checked, so a DNS answer that changes afterwards (DNS
rebinding) cannot aim the connector's credentials at the gateway's own network. TLS still verifies the
URL's host name: aiohttp passes it as the server name, whatever address the socket went to. No proxy
from the environment: the address checked must be the one connected to.
"""

from __future__ import annotations

from msplex.connectors.framework.transport import AiohttpTransport, Refused
from msplex.upstream.addresses import PrivateAddress, public_address

__all__ = ["public_only_transport"]


async def _public(host: str, port: int) -> str:
    try:
        return await public_address(host, port)
    except PrivateAddress as exc:
        raise Refused(str(exc)) from None


def public_only_transport() -> AiohttpTransport:
    """The vendor transport (``transport``) with every connection's address checked first."""
    return AiohttpTransport(trust_env=False, check=_public)
