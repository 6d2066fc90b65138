"""Every admin API failure as an RFC 9457 problem (``application/problem+json``).

``Problem`` is what the routes and the authentication dependencies raise; the
handlers installed by ``install`` turn it, the store's errors, FastAPI's
validation errors and Starlette's 404/405 into problem bodies. A validation
error is summarised by field and message only: the input is never echoed (it
may carry a header value). Anything else is answered 500 by ``msplex.admin.guard``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from msplex.store import AlreadyExists, Conflict, InvalidInput, NotFound, SecretUnavailable, StoreError

__all__ = [
    "MEDIA_TYPE",
    "PROBLEM_RESPONSES",
    "FieldError",
    "Problem",
    "ProblemBody",
    "install",
    "not_yours",
    "problem_response",
    "title_of",
]

log = logging.getLogger("msplex.admin")

MEDIA_TYPE = "application/problem+json"


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    message: str


class ProblemBody(BaseModel):
    """RFC 9457 problem details; ``errors`` lists the fields of a validation failure."""

    model_config = ConfigDict(extra="forbid")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[FieldError] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemBody, "description": description}
    for status, description in (
        (401, "No credential, or one that proves nothing"),
        (403, "The credential may not do this"),
        (404, "No such resource (or tenant) for this credential"),
        (409, "The name is taken, or a concurrent change won"),
        (422, "The request is not valid"),
    )
}
"""The error responses every admin route documents in the OpenAPI document."""


class Problem(Exception):
    """An HTTP failure with a detail fit for the caller; ``headers`` such as ``WWW-Authenticate``."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        field: str | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.field = field
        self.errors = errors


def not_yours() -> Problem:
    """What a tenant principal gets for any other tenant's path, existing or not: one body for both."""
    return Problem(404, "no such tenant for this credential")


def problem_response(problem: Problem) -> JSONResponse:
    body = ProblemBody(
        title=title_of(problem.status),
        status=problem.status,
        detail=problem.detail,
        field=problem.field,
        errors=problem.errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=problem.status,
        headers=problem.headers,
        media_type=MEDIA_TYPE,
    )


def _store_problem(request: Request, exc: StoreError) -> Problem:
    if isinstance(exc, NotFound):
        if exc.kind == "tenant" and getattr(request.state, "operator", False) is not True:
            return not_yours()
        return Problem(404, exc.message)
    if isinstance(exc, AlreadyExists | Conflict):
        return Problem(409, exc.message)
    if isinstance(exc, InvalidInput):
        return Problem(422, exc.message, field=exc.field)
    if isinstance(exc, SecretUnavailable):
        log.error("admin API: %s", exc.message)
        return Problem(500, exc.message)
    return Problem(500, exc.message)


def _summary(errors: list[FieldError]) -> str:
    shown = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"the request is not valid: {shown}{more}"


def _validation_problem(exc: RequestValidationError) -> Problem:
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        return Problem(400, "the body is not valid JSON")
    errors = [
        FieldError(field=".".join(str(p) for p in e.get("loc", ())) or "request", message=str(e.get("msg", "invalid")))
        for e in raw
    ]
    return Problem(422, _summary(errors), errors=errors)


def _http_problem(exc: StarletteHTTPException, path: str, allowed: Callable[[str], list[str]]) -> Problem:
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return Problem(404, f"nothing is served at {path}", headers=headers)
    if exc.status_code == 405:
        if methods := allowed(path):  # Starlette names only the first route matching the path
            headers["Allow"] = ", ".join(methods)
        return Problem(405, "this method is not allowed here; see the Allow header", headers=headers)
    detail = exc.detail if isinstance(exc.detail, str) else title_of(exc.status_code)
    return Problem(exc.status_code, detail, headers=headers)


def install(app: FastAPI, allowed: Callable[[str], list[str]]) -> None:
    """Make every failure the app can produce a problem body; ``allowed(path)``: the methods served there."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_store_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StoreError)
        return problem_response(_store_problem(request, exc))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(_http_problem(exc, request.url.path, allowed))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StoreError, on_store_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
