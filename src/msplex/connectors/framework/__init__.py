"""The connector framework every MSP vendor connector is built on.

Contract for a vendor module ``msplex.connectors.<kind>`` (``kind`` one of ``registry.KINDS``):

* It exports ``VENDOR = Vendor(kind=..., title=..., credential=..., flags=(...), tools=(...),
  validate=..., rate=RateLimit(...), companies=..., secret_fields=frozenset(...))`` and nothing it
  does at import touches the network.
* ``credential`` is a declaration (``ApiKeyHeader``, ``BasicWithClientId``, ``ClientCredentials``,
  ``AuthorizationCode``); the vault turns it plus the stored secrets into an ``Auth`` that supplies
  headers per request and refreshes tokens once for all callers. Vendor code never sees a secret.
* ``flags`` are the vendor's own ``msplex connect`` flags (``Flag(field, "--client-id", help,
  secret=...)``); ``--tenant``, ``--instance``, ``--base-url`` and ``--token-url`` are common.
  Non-secret values reach vendor code as ``ctx.config.settings[field]``.
* Each ``ToolSpec`` has a model-facing description, JSON input and output schemas, honest hints
  (``read_only``, ``destructive``, ``idempotent``, ``open_world``), ``effects`` saying when its
  arguments make a write client-visible or billable (listed as ``_meta["msplex/effects"]``), and an
  ``async handler(ctx, args) -> dict`` returning the structured result (``structuredContent``).
* A handler uses ``ctx.http`` (JSON in, JSON out; pacing, 429/``Retry-After``, one refresh on 401
  and error translation are done; it raises ``VendorError`` only), ``ctx.scope`` (``pin`` the
  customer filter on every request, ``check`` the owner of every record read or written, ``keep``
  to filter lists), and ``page_input``/``paged_output``/``page_result`` so no list is silently cut.
  It raises ``ToolError(message)`` for a failure the model should read.
* Results are redacted by the framework: any key containing ``password``/``secret`` or named in
  ``secret_fields`` becomes ``null`` with ``<key>_redacted: true``, and those values are scrubbed
  from every string. A reveal tool sets ``reveals_secrets=True`` (listed as sensitive, off by default).

The gateway side: ``VendorInstance`` runs one configured instance (``call(tool, args, customer=)``
is the whole tool path, and what vendor tests drive); ``VendorConnector`` adapts it to the
``Connector`` contract; ``VendorProvider`` lists a tenant's instances in the catalogue as
``{instance}__{tool}`` with ``Target.vendor`` set, and reports each instance's readiness.
"""

from msplex.connectors.framework.context import ToolContext
from msplex.connectors.framework.errors import NotReady, ToolError, VendorError
from msplex.connectors.framework.http import Auth, NoAuth, Pacer, Pacing, SharedPacer, VendorHTTP
from msplex.connectors.framework.instance import Readiness, VendorInstance, tool_error
from msplex.connectors.framework.paging import PAGE_INPUT, page_input, page_result, paged_output
from msplex.connectors.framework.redact import redact, scrub_text
from msplex.connectors.framework.scope import Scope
from msplex.connectors.framework.spec import (
    JSON,
    ApiKeyHeader,
    AuthorizationCode,
    BasicWithClientId,
    ClientCredentials,
    Company,
    Condition,
    CredentialKind,
    Effects,
    Flag,
    InstanceConfig,
    RateLimit,
    ToolSpec,
    Vendor,
    When,
)

__all__ = [
    "JSON",
    "PAGE_INPUT",
    "ApiKeyHeader",
    "Auth",
    "AuthorizationCode",
    "BasicWithClientId",
    "ClientCredentials",
    "Company",
    "Condition",
    "CredentialKind",
    "Effects",
    "Flag",
    "InstanceConfig",
    "NoAuth",
    "NotReady",
    "Pacer",
    "Pacing",
    "RateLimit",
    "Readiness",
    "Scope",
    "SharedPacer",
    "ToolContext",
    "ToolError",
    "ToolSpec",
    "Vendor",
    "VendorError",
    "VendorHTTP",
    "VendorInstance",
    "When",
    "page_input",
    "page_result",
    "paged_output",
    "redact",
    "scrub_text",
    "tool_error",
]
