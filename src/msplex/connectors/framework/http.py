"""The vendor HTTP client a tool handler gets: authenticated, paced, retried, translated.

Below: an injected ``httpx.AsyncClient`` (tests serve a fake on 127.0.0.1, or swap its transport; the
gateway's runs over ``transport.AiohttpTransport``, for its CPU per request).
Above: vendor code, which sees parsed JSON or a ``VendorError``, never an httpx exception, a
response object or a credential. Per request: the pacer admits it under the vendor's published
limit, the ``Auth`` (from the vault) supplies headers, a 401 makes the auth refresh once (single
flight) and the request is retried once; a 429 is retried after ``Retry-After`` (or a doubling
backoff) while the call's wait budget lasts, then reported with the time to retry.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import httpx
import orjson

from msplex.connectors.framework.errors import NotReady, VendorError
from msplex.connectors.framework.redact import scrub_text
from msplex.connectors.framework.spec import RateLimit

if TYPE_CHECKING:
    from msplex.state import SharedState

__all__ = ["Auth", "NoAuth", "Pacer", "Pacing", "SharedPacer", "VendorHTTP", "default_error_message"]

Sleep = Callable[[float], Awaitable[None]]
Files = Mapping[str, tuple[str | None, bytes, str]]


class Auth(Protocol):
    """Per-request credentials of one connector instance (implemented by the vault)."""

    async def headers(self) -> Mapping[str, str]:
        """Headers for the next request; may fetch or refresh a token (once for all concurrent callers)."""
        ...

    async def rejected(self, sent: Mapping[str, str]) -> bool:
        """The vendor answered 401 to ``sent``: refresh if that token is still the current one. True when a
        retry with fresh ``headers()`` may succeed; False for a static credential (it is simply wrong).
        Raises ``NotReady`` when the refresh itself fails."""
        ...

    def secrets(self) -> Sequence[str]:
        """Every credential value this auth may send (for scrubbing), longest first."""
        ...


class NoAuth:
    async def headers(self) -> Mapping[str, str]:
        return {}

    async def rejected(self, sent: Mapping[str, str]) -> bool:
        return False

    def secrets(self) -> Sequence[str]:
        return ()


class Pacing(Protocol):
    async def admit(self, sleep: Sleep = asyncio.sleep) -> None:
        """Return when one more request may start."""
        ...


class SharedPacer:
    """Pacing shared by every replica (through the state seam's counters), for scale-out.

    The state offers fixed windows (a counter's TTL starts when it is created), so time is cut into
    windows of the vendor's length aligned on the clock, each admitting half the budget: any rolling
    window of that length overlaps at most two of them, so all replicas together stay under the
    published rolling limit. One state round trip per request."""

    def __init__(
        self, state: SharedState, key: str, rate: RateLimit, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._state = state
        self._key = key
        self._window = rate.per_seconds
        self._half = max(1, int(rate.requests * rate.margin) // 2)
        self._clock = clock

    async def admit(self, sleep: Sleep = asyncio.sleep) -> None:
        while True:
            now = self._clock()
            window = int(now // self._window)
            count = await self._state.incr(f"{self._key}:{window}", ttl=self._window * 2)
            if count <= self._half:
                return
            await sleep((window + 1) * self._window - now)


class Pacer:
    """A rolling-window limiter: at most ``margin * requests`` requests start in any ``per_seconds``.
    One per connector instance and replica (a replica paces its own share)."""

    def __init__(self, rate: RateLimit | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = max(1, int(rate.requests * rate.margin)) if rate else 0
        self._window = rate.per_seconds if rate else 0.0
        self._starts: deque[float] = deque()
        self._clock = clock
        self._lock = asyncio.Lock()

    async def admit(self, sleep: Sleep = asyncio.sleep) -> None:
        if not self._limit:
            return
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self._window:
                    self._starts.popleft()
                if len(self._starts) < self._limit:
                    self._starts.append(now)
                    return
                await sleep(self._starts[0] + self._window - now)


def default_error_message(response: httpx.Response) -> str | None:
    """The vendor's own error text, from the common body shapes (``message``, ``Message``, ``error``,
    ``error_description``, ``errors[]``, a bare string)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] or None
    return _message_of(body)


def _message_of(body: Any) -> str | None:
    if isinstance(body, str):
        return body[:300] or None
    if isinstance(body, list):
        parts = [m for item in body[:5] if (m := _message_of(item))]
        return "; ".join(parts)[:300] or None
    if isinstance(body, dict):
        for key in ("error_description", "message", "Message", "errorMessage", "detail", "title", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
        for key in ("errors", "details"):
            if key in body and (m := _message_of(body[key])):
                return m
    return None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class VendorHTTP:
    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        auth: Auth,
        *,
        vendor: str,
        rate: RateLimit | None = None,
        pacer: Pacing | None = None,
        error_message: Callable[[httpx.Response], str | None] | None = None,
        fix: str | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client = client
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self.vendor = vendor
        self._rate = rate or RateLimit(requests=0, per_seconds=0)
        self._pacer = pacer or Pacer(rate)
        self._error_message = error_message or default_error_message
        self._fix = fix
        self._sleep = sleep
        self.host = urlsplit(self.base_url).hostname or self.base_url

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(
        self, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None, files: Files | None = None
    ) -> Any:
        """``files``: a multipart/form-data body instead of JSON (``{part: (filename, content, type)}``)."""
        return await self.request("POST", path, params=params, json=json, files=files)

    async def put(self, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("PUT", path, params=params, json=json)

    async def patch(self, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("PATCH", path, params=params, json=json)

    async def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
    ) -> Any:
        """The parsed JSON body (``None`` for an empty one); ``VendorError`` for anything else."""
        response = await self.send(method, path, params=params, json=json, headers=headers, files=files)
        if not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise VendorError(
                "vendor", f"{self.vendor} answered {method} {path} with something that is not JSON"
            ) from None

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
    ) -> httpx.Response:
        """The successful (2xx) response, for vendor code that needs headers (a ``Link`` header)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        rate = self._rate
        waited, backoff, refreshed, attempts = 0.0, rate.backoff, False, 0
        while True:
            attempts += 1
            await self._pacer.admit(self._sleep)
            sent = await self._auth.headers()
            try:
                response = await self._client.request(
                    method, url, params=clean, json=json, files=files, headers={**(headers or {}), **sent}
                )
            except httpx.TimeoutException:
                raise VendorError("unreachable", f"{self.vendor} at {self.host} did not answer in time") from None
            except httpx.HTTPError as exc:
                raise VendorError("unreachable", f"cannot reach {self.vendor} at {self.host}: {_why(exc)}") from None
            status = response.status_code
            if status < 400:
                return response
            if status == 401 and not refreshed:
                refreshed = True
                if await self._auth.rejected(sent):
                    continue
            if status == 429:
                delay = _retry_after(response)
                if delay is None:
                    delay, backoff = backoff, min(backoff * 2, rate.backoff_max)
                if attempts <= rate.retries and waited + delay <= rate.max_wait:
                    waited += delay
                    await self._sleep(delay)
                    continue
                raise VendorError(
                    "rate_limited",
                    f"{self.vendor} is rate limiting this connector; retry in {max(delay, 1):.0f} s",
                    status=429,
                    retry_after=delay,
                )
            raise self._translate(method, path, response)

    def _translate(self, method: str, path: str, response: httpx.Response) -> VendorError:
        status = response.status_code
        said = self._error_message(response)
        said = scrub_text(said, self._auth.secrets()) if said else None
        suffix = f": {said}" if said else ""
        if status == 401:
            return NotReady(f"{self.vendor} rejected the connector's credentials{suffix}", fix=self._fix, status=401)
        if status == 403:
            return VendorError(
                "forbidden",
                f"{self.vendor} refused {method} {path} (the credential lacks a scope or permission){suffix}",
                status=403,
            )
        if status == 404:
            return VendorError("not_found", f"{self.vendor}: not found ({method} {path}){suffix}", status=404)
        if status < 500:
            return VendorError("invalid", f"{self.vendor} refused the request ({status}){suffix}", status=status)
        return VendorError("vendor", f"{self.vendor} failed ({status}){suffix}", status=status)


def _why(exc: httpx.HTTPError) -> str:
    said = str(exc)
    if " resolves to " in said or "does not resolve" in said:
        return said[:200]  # the public-address guard's own reason
    text = said.lower()
    if "name or service not known" in text or "nodename nor servname" in text or "name resolution" in text:
        return "unknown host"
    if "connection refused" in text or "connect call failed" in text:
        return "connection refused"
    if "certificate" in text or "ssl" in text:
        return "TLS failed"
    return type(exc).__name__
