"""The admin REST API under ``/admin/v1`` (FastAPI), off the MCP hot path.

``build_admin(gateway, store, settings)`` is the ASGI app the edge hands every
``/admin/`` path to; ``routes()`` lists what it serves and to whom. Routes call
the same store services as the CLI (and ``msplex.cli.tools.effective_items``
for what an identity sees), so neither has a second code path.
"""

from msplex.admin.app import OPENAPI_PATH, AdminRoute, build_admin, routes

__all__ = ["OPENAPI_PATH", "AdminRoute", "build_admin", "routes"]
