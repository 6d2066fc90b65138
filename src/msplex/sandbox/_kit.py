"""What every vendor fake needs besides its contract: a clock, recorded requests, a rolling rate window, injections.

A fake subclasses ``FakeControls`` (a dataclass) and calls ``record`` then ``limited`` for each API
request; tests read ``requests`` and steer the fake with ``throttle_next``, ``fail_next`` and the
injectable ``clock`` (token expiry and rate windows follow it, never the wall clock alone).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["FakeControls", "Recorded", "body_of", "json_response", "serve_foreground"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the fake saw it; ``principal`` is whose credential it carried (``None``: none valid)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    principal: str | None
    headers: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


@dataclass
class FakeControls:
    """Shared knobs: a rolling window of ``rate_limit`` requests per ``rate_window`` seconds of ``clock``."""

    rate_limit: int = 1000
    rate_window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    requests: list[Recorded] = field(default_factory=list)
    _hits: deque[float] = field(default_factory=deque, repr=False)
    _throttle: int = field(default=0, repr=False)
    _failures: deque[tuple[int, Any]] = field(default_factory=deque, repr=False)

    def throttle_next(self, count: int = 1) -> None:
        """The next ``count`` API requests answer 429, whatever the window says."""
        self._throttle += count

    def fail_next(self, status: int, body: Any = None) -> None:
        """The next authenticated API request answers ``status`` with ``body`` as JSON."""
        self._failures.append((status, body))

    def recorded(self, path_suffix: str | None = None, method: str | None = None) -> list[Recorded]:
        """Recorded requests whose path ends with ``path_suffix`` (all when ``None``), optionally of one method."""
        return [
            r
            for r in self.requests
            if (path_suffix is None or r.path.endswith(path_suffix)) and (method is None or r.method == method)
        ]

    def record(self, request: Request, body: Any, principal: str | None) -> None:
        skip = {"authorization"}
        headers = tuple((k, v) for k, v in request.headers.items() if k not in skip)
        query = tuple(request.query_params.multi_items())
        self.requests.append(Recorded(request.method, request.url.path, query, body, principal, headers))

    def limited(self) -> bool:
        """Count this request against the window; ``True``: it is over the limit (answer 429)."""
        now = self.clock()
        hits = self._hits
        while hits and hits[0] <= now - self.rate_window:
            hits.popleft()
        if self._throttle > 0:
            self._throttle -= 1
            return True
        if len(hits) >= self.rate_limit:
            return True
        hits.append(now)
        return False

    def injected_failure(self) -> Response | None:
        if not self._failures:
            return None
        status, body = self._failures.popleft()
        return json_response(body, status)


def json_response(body: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(orjson.dumps(body), status, headers=dict(headers), media_type="application/json")


async def body_of(request: Request) -> Any:
    """The JSON body, ``None`` when empty; raises ``ValueError`` when it is not JSON."""
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ValueError(str(err)) from err


def serve_foreground(app: Any, prog: str, default_port: int, banner: str, argv: list[str] | None = None) -> None:
    """``python -m {prog} [--port N]``: serve a fake on 127.0.0.1 in the foreground (the sandbox demo)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=banner)
    parser.add_argument("--port", type=int, default=default_port)
    port = parser.parse_args(argv).port
    print(f"{banner} on http://127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
