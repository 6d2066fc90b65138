"""The vendor connectors' HTTP transport: httpx's client API over aiohttp's connection pool.

Why: a vendor request through httpx's default transport (httpcore over anyio) cost ~1.7 ms of the
gateway's CPU on the 2-core reference machine, most of a connector call; the same request through
this transport costs about half (``python -m bench.vendor_call``). Why still httpx above it: vendor
code, the vault's OAuth exchanges and the tests speak ``httpx.AsyncClient``/``httpx.Response``, and
tests inject their own transports; only the wire below changes.

Kept from httpx's transport: TLS with the same context (``httpx.create_ssl_context``: certifi, or
``SSL_CERT_FILE``/``SSL_CERT_DIR``), the client's timeouts (connect, read, pool), ``HTTP(S)_PROXY``
and ``NO_PROXY`` from the environment (when ``trust_env``; read once, as httpx does: aiohttp's own
``trust_env`` reads the environment and ``.netrc`` at every request, ~0.5 ms), keep-alive pooling (100 connections,
idle ones closed after 5 s), no redirects (the client decides), compressed bodies decoded by httpx,
and failures raised as httpx's own exceptions. ``check``: called with every address a connection is
about to use, and the connection is made to the address it returns (the public-only guard).

aiohttp is imported, and the TLS context (the CA bundle) loaded, when the first request is sent: a
gateway without vendor connectors never pays for them (~9 MB of memory at start-up).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.abc import AbstractResolver

__all__ = ["AiohttpTransport", "Refused"]

Check = Callable[[str, int], Awaitable[str]]
"""``(host, port) -> the address to connect to``; raises ``Refused`` to refuse the connection."""

_DROP = frozenset({"transfer-encoding"})  # the body is sent whole: aiohttp sets Content-Length


class Refused(OSError):
    """A ``check`` refused the address; the message says why."""


def _checked_resolver(check: Check) -> AbstractResolver:
    """An aiohttp resolver that answers with the address ``check`` returns (defined on first use: see above)."""
    from aiohttp.abc import AbstractResolver, ResolveResult

    class CheckedResolver(AbstractResolver):
        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            address = await check(host, port)
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            result = ResolveResult(
                hostname=host, host=address, port=port, family=fam, proto=0, flags=socket.AI_NUMERICHOST
            )
            return [result]

        async def close(self) -> None:
            pass

    return CheckedResolver()


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        trust_env: bool = True,
        check: Check | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._check = check
        self._ssl = ssl_context
        self._trust_env = trust_env
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._proxies = urllib.request.getproxies() if trust_env else {}
        """Scheme -> proxy URL, and ``no`` -> the hosts that bypass it."""

    def _session_now(self) -> aiohttp.ClientSession:
        """The pool, made on first use (aiohttp binds it to the running event loop)."""
        if self._session is None or self._session.closed:
            import aiohttp

            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(trust_env=self._trust_env)
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                keepalive_timeout=self._keepalive,
                ssl=self._ssl,
                resolver=_checked_resolver(self._check) if self._check else None,
                use_dns_cache=self._check is None,  # a checked host is checked again at every new connection
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps the cookies
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if self._check is not None and _is_literal(url.host):  # aiohttp never resolves a literal address
            try:
                await self._check(url.host, url.port or (443 if url.scheme == "https" else 80))
            except Refused as exc:
                raise httpx.ConnectError(str(exc), request=request) from None
        import aiohttp  # already loaded by the session: a dictionary lookup

        body = await request.aread()
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _DROP]
        try:
            async with self._session_now().request(
                request.method,
                str(url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=_timeout(request.extensions.get("timeout")),
                proxy=self._proxy(url),
            ) as response:
                content = await response.read()
                status, raw = response.status, response.raw_headers
                reason = (response.reason or "").encode()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from None
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc.os_error) or str(exc), request=request) from None
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from None
        return httpx.Response(
            status,
            headers=raw,
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    def _proxy(self, url: httpx.URL) -> str | None:
        proxy = self._proxies.get(url.scheme)
        if proxy and urllib.request.proxy_bypass_environment(url.host, self._proxies):  # type: ignore[attr-defined]
            return None
        return proxy

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _timeout(given: Any) -> aiohttp.ClientTimeout:
    """httpx's per-request timeouts (``connect``, ``read``, ``pool``; None: none) as aiohttp's."""
    import aiohttp

    if not isinstance(given, dict):
        return aiohttp.ClientTimeout(total=None)
    connect, read, pool = given.get("connect"), given.get("read"), given.get("pool")
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect, sock_read=read)
