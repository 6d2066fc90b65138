"""The admin REST API: ``build_admin`` assembles it, ``routes`` says what it serves and to whom.

A FastAPI application, mounted by the MCP edge for paths under ``/admin/`` (the
edge stays a raw ASGI callable; nothing here is on the MCP path). One router per
resource; every route is either the platform operator's (``auth.operator``) or
tenant-scoped (``auth.tenant_scope``), and ``routes`` derives which from the
dependencies each route really has, so a table-driven probe can demand a row for
every route. The OpenAPI document is served at ``/admin/v1/openapi.json``
without authentication; the docs pages are off (they load assets from a CDN).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from msplex import __version__
from msplex.admin import (
    approvals,
    connectors,
    customers,
    entities,
    oidc,
    problems,
    tenants,
    tokens,
    tools,
    upstreams,
)
from msplex.admin.auth import AdminContext, operator, tenant_scope
from msplex.admin.guard import Guard

if TYPE_CHECKING:
    from msplex.gateway import Gateway
    from msplex.settings import Settings
    from msplex.store import Store

__all__ = ["OPENAPI_PATH", "PREFIX", "AdminRoute", "allowed_methods", "build_admin", "routes"]

PREFIX = "/admin/v1"
OPENAPI_PATH = f"{PREFIX}/openapi.json"
ROUTERS = (tenants.router, customers.router, tokens.router, tools.router, entities.router, upstreams.router,
           oidc.router, approvals.router, connectors.router)  # fmt: skip

Access = Literal["anyone", "operator", "operator or tenant admin"]


class AdminRoute(NamedTuple):
    method: str
    path: str
    """The path template, e.g. ``/admin/v1/tenants/{tenant}/customers/{slug}``."""
    access: Access


class _AdminAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """The generated document, with the error responses' schema under ``application/problem+json``
        (FastAPI files a response model under the route's own media type)."""
        document = super().openapi()
        for item in document.get("paths", {}).values():
            for operation in item.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in "45" and "application/json" in content:
                        content[problems.MEDIA_TYPE] = content.pop("application/json")
        return document


def _application() -> FastAPI:
    app = _AdminAPI(
        title="MSPlex admin API",
        version=__version__,
        description="Tenants, customers, tokens, the per-item ACL, entities, upstreams, identity providers and "
        "approvals. "
        "Errors are application/problem+json (RFC 9457).",
        openapi_url=OPENAPI_PATH,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        redirect_slashes=False,
    )
    for router in ROUTERS:
        app.include_router(router)
    problems.install(app, allowed_methods)
    return app


def build_admin(gateway: Gateway, store: Store, settings: Settings) -> FastAPI:
    """The admin API over the running ``gateway`` (its identities resolve the callers) and ``store``."""
    app = _application()
    app.state.msplex = AdminContext(gateway, store, settings)
    app.add_middleware(
        Guard, max_body_bytes=settings.max_body_bytes, body_timeout_seconds=settings.body_timeout_seconds
    )
    return app


@functools.cache
def _route_patterns() -> list[tuple[re.Pattern[str], str]]:
    return [
        (re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(r.path)) + "$"), r.method) for r in routes()
    ]


def allowed_methods(path: str) -> list[str]:
    """The methods some route serves at ``path`` (for a 405's ``Allow``)."""
    return sorted({method for pattern, method in _route_patterns() if pattern.match(path)})


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _access(route: APIRoute) -> Access:
    calls = set(_calls(route.dependant))
    if operator in calls:
        return "operator"
    if tenant_scope in calls:
        return "operator or tenant admin"
    return "anyone"


def routes() -> list[AdminRoute]:
    """Every (method, path template) the admin app serves, and who may call it: the routers' routes
    (the tests hold this against the served OpenAPI document) and the document itself."""
    found = [AdminRoute("GET", OPENAPI_PATH, "anyone")]
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            found += [AdminRoute(m, route.path, _access(route)) for m in sorted(route.methods or ())]
    return found
