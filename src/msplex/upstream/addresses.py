"""Where an upstream a tenant registered may point: public addresses only.

A tenant admin who could register ``http://169.254.169.254/`` or
``http://127.0.0.1:5432/`` would turn the gateway into a way into its own network
(cloud metadata, the database, the Redis). So a URL registered through the admin
API must resolve only to public addresses, checked at registration and again at
every new connection (to the address that was checked, so a DNS answer that
changes in between cannot slip through), unless the operator allows private
ones (``MSPLEX_UPSTREAM_ALLOW_PRIVATE``). Upstreams the operator registers on the
host are trusted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["PrivateAddress", "check_public_url", "public_address"]

_SHARED = ipaddress.ip_network("100.64.0.0/10")


class PrivateAddress(ValueError):
    """The host resolves to an address a tenant's upstream may not use; the message names host and why."""


def _why_not(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata lives there)"
    if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED):
        return "private"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not routable"
    return None


async def public_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: every address it resolves to must be public."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PrivateAddress(f"{host} does not resolve ({exc.strerror or 'unknown host'})") from None
    addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if (why := _why_not(address)) is not None:
            raise PrivateAddress(f"{host} resolves to a {why} address ({address}), which tenant upstreams may not use")
    if not addresses:
        raise PrivateAddress(f"{host} does not resolve")
    return addresses[0]


async def check_public_url(url: str) -> None:
    """``PrivateAddress`` unless ``url``'s host resolves to public addresses only."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise PrivateAddress("the URL has no host")
    await public_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
