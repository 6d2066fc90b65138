"""One connector instance of one tenant, running: its vendor, settings, auth, client, customer map, health.

``VendorInstance.call(tool, args, customer=...)`` is the whole tool-call path below the chain:
validate the arguments against the input schema, resolve the customer scope, run the handler,
translate every failure into a tool error, redact the result. ``VendorConnector`` (the ``Connector``
dispatch executes) is a thin adapter over it, and vendor tests drive it directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from msplex.connectors.framework.context import ToolContext
from msplex.connectors.framework.errors import NotReady, ToolError, VendorError
from msplex.connectors.framework.http import Auth, Pacing, VendorHTTP
from msplex.connectors.framework.redact import redact, scrub_text
from msplex.connectors.framework.scope import Scope
from msplex.connectors.framework.spec import JSON, InstanceConfig, ToolSpec, Vendor

__all__ = ["Readiness", "VendorInstance", "tool_error"]

log = logging.getLogger("msplex.connectors")


@dataclass(slots=True)
class Readiness:
    """Whether the instance can serve calls; when not, why and what an operator runs to fix it."""

    ready: bool = True
    reason: str | None = None
    fix: str | None = None
    since: float | None = None

    def describe(self) -> str | None:
        if self.ready:
            return None
        return f"{self.reason}; {self.fix}" if self.fix else self.reason


def tool_error(message: str, **extra: Any) -> JSON:
    """An ``isError`` tool result (the model reads it; it is not a protocol error)."""
    result: JSON = {"content": [{"type": "text", "text": message}], "isError": True}
    if extra:
        result["structuredContent"] = {"error": message, **extra}
    return result


class VendorInstance:
    def __init__(
        self,
        vendor: Vendor,
        config: InstanceConfig,
        auth: Auth,
        client: httpx.AsyncClient,
        *,
        tenant: str,
        name: str | None = None,
        customers: Mapping[str, str] | None = None,
        customer_slugs: Mapping[str, str] | None = None,
        pacer: Pacing | None = None,
        sleep: Any = None,
    ) -> None:
        self.vendor = vendor
        self.config = config
        self.name = name or vendor.kind
        self.tenant = tenant
        self.customers: Mapping[str, str] = dict(customers or {})
        """Customer slug -> this vendor's id for it (``msplex customer map``)."""
        self.customer_slugs: Mapping[str, str] = dict(customer_slugs or {})
        """Customer id -> slug, for the mapped customers."""
        self.readiness = Readiness()
        self.on_readiness: Callable[[], None] | None = None
        """Called when the instance turns ready or not ready (its provider announces the list change)."""
        self._auth = auth
        self.fix = f"run `msplex connect {vendor.kind} --tenant {tenant} --instance {self.name}`"
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.http = VendorHTTP(
            client,
            config.base_url,
            auth,
            vendor=vendor.title,
            rate=vendor.rate,
            pacer=pacer,
            error_message=vendor.error_message,
            fix=self.fix,
            **kwargs,
        )
        self._tools = {t.name: t for t in vendor.tools}
        self._validators = {t.name: Draft202012Validator(t.input_schema) for t in vendor.tools}

    # the listing -------------------------------------------------------------------------------

    def definitions(self) -> tuple[JSON, ...]:
        return tuple(t.definition(self.vendor.kind) for t in self.vendor.tools)

    def spec(self, tool: str) -> ToolSpec | None:
        return self._tools.get(tool)

    def context(self, scope: Scope | None = None) -> ToolContext:
        return ToolContext(
            http=self.http,
            scope=scope or Scope(term=self.vendor.customer_term),
            config=self.config,
            instance=self.name,
            vendor=self.vendor.kind,
            tenant=self.tenant,
        )

    # readiness -----------------------------------------------------------------------------------

    def not_ready(self, reason: str, fix: str | None = None) -> None:
        was = self.readiness.ready
        if was or self.readiness.reason != reason:
            log.warning("connector %s/%s not ready: %s", self.tenant, self.name, reason)
        self.readiness = Readiness(False, reason, fix or self.fix, time.time())
        if was and self.on_readiness is not None:
            self.on_readiness()

    def ready(self) -> None:
        if not self.readiness.ready:
            log.info("connector %s/%s is ready again", self.tenant, self.name)
            self.readiness = Readiness()
            if self.on_readiness is not None:
                self.on_readiness()

    async def validate(self) -> None:
        """The vendor's live check; marks the instance (not) ready; raises ``VendorError``."""
        try:
            await self.vendor.validate(self.context())
        except NotReady as exc:
            self.not_ready(exc.message, exc.fix)
            raise
        self.ready()

    # calling ---------------------------------------------------------------------------------------

    def scope(self, customer: str | None) -> Scope:
        """The scope of a call bound to ``customer`` (a slug); ``ToolError`` when it has no id here."""
        term = self.vendor.customer_term
        if customer is None:
            return Scope(term=term)
        vendor_id = self.customers.get(customer)
        if vendor_id is None:
            slug = customer if customer.isprintable() else "CUSTOMER"
            raise ToolError(
                f"the customer this call is bound to has no {self.vendor.title} {term} mapped on connector "
                f"{self.name!r}; an admin maps it with `msplex customer map {slug} --tenant {self.tenant} "
                f"--connector {self.name} --vendor-id ID`"
            )
        return Scope(customer, vendor_id, term)

    async def call(self, tool: str, args: JSON, *, customer: str | None = None) -> JSON:
        """The MCP tool result of ``tool`` with ``args`` for a call bound to ``customer`` (or the tenant)."""
        spec = self._tools.get(tool)
        if spec is None:
            return tool_error(f"{self.vendor.title} connector {self.name!r} has no tool {tool!r}")
        errors = sorted(self._validators[tool].iter_errors(args), key=lambda e: list(e.absolute_path))
        if errors:
            return tool_error(f"invalid arguments: {_describe(errors[0])}")
        secrets = self._auth.secrets()
        try:
            scope = self.scope(customer)
            structured = await spec.handler(self.context(scope), args)
        except NotReady as exc:
            self.not_ready(exc.message, exc.fix)
            return tool_error(scrub_text(self.readiness.describe() or exc.message, secrets))  # names the fix
        except ToolError as exc:
            extra: dict[str, Any] = {}
            if isinstance(exc, VendorError):
                extra["kind"] = exc.kind
            if exc.retry_after is not None:
                extra["retry_after"] = round(exc.retry_after, 1)
            return tool_error(scrub_text(exc.message, secrets), **extra)
        self.ready()
        if not spec.reveals_secrets:
            structured = redact(structured, self.vendor.secret_fields, secrets)
        text = orjson.dumps(structured).decode()
        return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def _describe(error: ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
