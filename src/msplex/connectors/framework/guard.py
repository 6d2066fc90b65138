"""An HTTP transport that connects only to public addresses, for vendor connectors a tenant registered.

The admin API checks a tenant's base and token URLs when they are saved; this checks again at every new
connection, and connects to the very address it checked, so a DNS answer that changes afterwards (DNS
rebinding) cannot aim the connector's credentials at the gateway's own network. TLS still verifies the
URL's host name: httpcore passes it as the server name, whatever address the socket went to.
"""

from __future__ import annotations

import ssl
import typing

import certifi
import httpcore
import httpx

from msplex.upstream.addresses import PrivateAddress, public_address

__all__ = ["public_only_transport"]


class _PublicOnly(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend contract
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            address = await public_address(host, port)
        except PrivateAddress as exc:
            raise httpcore.ConnectError(str(exc)) from None
        return await self._inner.connect_tcp(
            address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend contract
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a tenant's connector may not use a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def public_only_transport() -> httpx.AsyncHTTPTransport:
    """httpx's own transport (its request and error mapping) over a connection pool that checks every address."""
    transport = httpx.AsyncHTTPTransport()
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(cafile=certifi.where()),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_PublicOnly(),
    )
    return transport
