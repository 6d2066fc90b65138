"""``msplex status``: the product page's status block, as text or JSON.

The endpoint base is the one a live replica reports (what clients really
reach); without a live replica it is this process's ``public_url``.
"""

from __future__ import annotations

from typing import Any

from msplex.cli._run import msplex_command
from msplex.identity.oidc import Finding
from msplex.settings import Settings
from msplex.store import LIVE_WITHIN, StatusReport

__all__ = ["endpoints", "render_status", "status_document"]


def endpoints(base: str, slugs: list[str]) -> list[str]:
    base = base.rstrip("/")
    return [f"{base}/mcp", *(f"{base}/mcp/v1/{slug}" for slug in slugs)]


def _base(report: StatusReport, settings: Settings) -> str:
    return report.replicas[0].endpoint if report.replicas and report.replicas[0].endpoint else settings.public_url


def status_document(
    report: StatusReport, settings: Settings, providers: dict[str, list[Finding]] | None = None
) -> dict[str, Any]:
    """``providers``: per tenant slug, the findings of its identity provider check."""
    return {
        "control_plane": "operational" if report.operational else "stopped",
        "replicas": [
            {
                "id": r.replica_id,
                "endpoint": r.endpoint,
                "started_at": r.started_at.isoformat(),
                "heartbeat_at": r.heartbeat_at.isoformat(),
                "calls_routed": r.calls_routed,
            }
            for r in report.replicas
        ],
        "tenants": [t.slug for t in report.tenants],
        "connectors": report.upstream_count,
        "endpoints": endpoints(_base(report, settings), [t.slug for t in report.tenants]),
        "tool_calls_routed": report.calls_routed,
        "unhealthy": [
            {"tenant": u.tenant_slug, "upstream": u.name, "error": u.error, "replica": u.replica_id}
            for u in report.unhealthy
        ],
        "identity_providers": {
            slug: {
                "ok": all(f.ok for f in findings),
                "problems": [f"{f.check}: {f.message}" for f in findings if not f.ok],
            }
            for slug, findings in (providers or {}).items()
        },
    }


def render_status(
    report: StatusReport,
    settings: Settings,
    providers: dict[str, list[Finding]] | None = None,
    tenant: str | None = None,
) -> str:
    """The product page's block (``-> Control plane: ...``); with ``tenant``, that tenant's build and endpoint."""
    doc = status_document(report, settings, providers)
    if report.operational:
        count = len(report.replicas)
        plane = f"operational ({count} replica{'s' if count != 1 else ''})"
    else:
        window = LIVE_WITHIN.total_seconds()
        plane = f"stopped (no gateway heartbeat in the last {window:g} s; start: {msplex_command('serve')})"
    tenants = report.tenants_with_connectors
    if tenant is not None:
        count = report.connectors_by_tenant.get(tenant, 0)
        build = f"{count} connector{'s' if count != 1 else ''} in tenant {tenant}"
        shown = [f"{_base(report, settings).rstrip('/')}/mcp/v1/{tenant}"]
    else:
        count = report.upstream_count
        build = f"{count} connector{'s' if count != 1 else ''} across {tenants} tenant{'s' if tenants != 1 else ''}"
        shown = doc["endpoints"]
    lines = [
        f"-> Control plane: {plane}",
        f"-> Current build: {build}",
        *(f"-> Endpoint: {url}" for url in shown),
        f"Tool calls routed: {report.calls_routed:,}",
    ]
    if report.unhealthy:
        lines += [
            f"Unhealthy: {u.tenant_slug}/{u.name}: {u.error or 'unknown error'}"
            for u in report.unhealthy
            if tenant is None or u.tenant_slug == tenant
        ]
    else:
        lines.append("Unhealthy: none")
    for slug, checked in doc["identity_providers"].items():
        verdict = "ok" if checked["ok"] else "; ".join(checked["problems"])
        lines.append(f"Identity provider of {slug}: {verdict}")
    if report.tenants:
        first = report.tenants[0].slug
        hint = f"client-config --tenant {first} --client claude-code --new-token NAME"
        lines.append(f"Connect a client: {msplex_command(hint)}")
    return "\n".join(lines)
