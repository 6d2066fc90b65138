"""``/admin/v1/tenants/{tenant}/items``, ``/rules`` and ``/effective-tools``: the per-item ACL (``msplex tool``).

Every item starts off; a rule enables (for some audiences) or disables the items
its glob matches, and the newest matching rule decides. ``items`` lists the
tenant's catalogue now, as ``msplex tool list`` does (each upstream is asked);
``effective-tools`` is ``msplex tool effective``: the same function computes both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from msplex.access import Access, Item
from msplex.admin.auth import Admin, TenantScope
from msplex.admin.problems import PROBLEM_RESPONSES, Problem
from msplex.admin.schemas import Input, Output
from msplex.cli._catalogue import list_catalogue
from msplex.cli.tools import effective_items
from msplex.connectors.upstream.redact import redact_text
from msplex.store import ItemRuleRecord
from msplex.store.records import Audience, ItemKind, Role

__all__ = ["router"]

router = APIRouter(prefix="/admin/v1/tenants/{tenant}", tags=["tools and their ACL"], responses=PROBLEM_RESPONSES)


class ItemOut(Output):
    kind: ItemKind
    name: str
    """The public name (or URI)."""
    source: str
    """The upstream it comes from."""
    enabled: bool
    audiences: list[Audience]
    rule: str | None
    """The pattern of the deciding rule; ``null``: no rule matches (off by default)."""


class FailureOut(Output):
    upstream: str
    reason: str


class CatalogueOut(Output):
    items: list[ItemOut]
    failures: list[FailureOut]
    """Upstreams that could not be listed just now (their items are missing above)."""


class ViewerOut(Output):
    audience: Audience
    tools: list[str] | None
    """A token's narrowing globs; ``null``: what the audience allows."""
    selection: list[str] | None
    """The entity's selection; ``null``: not on an entity endpoint."""


class EffectiveOut(Output):
    viewer: ViewerOut | None
    items: list[ItemOut]
    """What this identity sees and may call on this endpoint."""
    failures: list[FailureOut]
    refusal: str | None
    """Why nothing is visible: the endpoint does not admit the identity, or the tenant's subscription is refused."""
    withheld: list[FailureOut]
    """Connectors whose items the rules allow but the tenant's plan does not entitle."""


def _members() -> list[Audience]:
    return ["admin", "member"]


class RuleIn(Input):
    kind: ItemKind = "tool"
    pattern: str = Field(description="A glob on public names, e.g. 'ev__*'.")
    enabled: bool
    audiences: list[Audience] = Field(default_factory=_members, description="Who may see the items (when enabled).")
    confirm_public: bool = Field(default=False, description="Required to enable items for the public audience.")


class RuleOut(Output):
    kind: ItemKind
    pattern: str
    enabled: bool
    audiences: list[Audience]
    seq: int
    """Order of the rules: the newest matching one decides."""


def _item(item: Item) -> ItemOut:
    return ItemOut(
        kind=item.kind,
        name=item.public,
        source=item.source,
        enabled=item.enabled,
        audiences=list(item.audiences),
        rule=item.rule,
    )


def _rule(rule: ItemRuleRecord) -> RuleOut:
    return RuleOut(
        kind=rule.kind, pattern=rule.pattern, enabled=rule.enabled, audiences=list(rule.audiences), seq=rule.seq
    )


async def _failures(scope: TenantScope, failures: dict[str, str]) -> list[FailureOut]:
    """Why upstreams could not be listed, with the tenant's header values taken out (an upstream's
    error may quote the credential it was sent)."""
    if not failures:
        return []
    secrets = tuple(value for entry in await scope.store.upstream_entries() for _, value in entry.headers)
    return [FailureOut(upstream=name, reason=redact_text(why, secrets)) for name, why in sorted(failures.items())]


@router.get("/items", summary="The tenant's catalogue items with their state, audiences and source")
async def list_items(scope: Admin) -> CatalogueOut:
    listed = await list_catalogue(scope.context.store, scope.tenant.slug)
    access = Access(await scope.store.list_rules())
    items = [_item(i) for i in access.effective(listed.catalogue, None)]
    return CatalogueOut(items=items, failures=await _failures(scope, listed.failures))


@router.get("/rules", summary="The tenant's item rules, oldest first")
async def list_rules(scope: Admin) -> list[RuleOut]:
    return [_rule(r) for r in await scope.store.list_rules()]


@router.put("/rules", summary="Enable or disable the items a pattern matches (the newest rule for a pattern wins)")
async def set_rule(scope: Admin, body: RuleIn) -> RuleOut:
    if body.enabled and "public" in body.audiences and not body.confirm_public:
        raise Problem(
            422,
            f"'public' makes every {body.kind} matching {body.pattern} in tenant '{scope.tenant.slug}' callable by "
            "any unauthenticated client (where the tenant or an entity admits anonymous callers); "
            'send "confirm_public": true to confirm',
            field="confirm_public",
        )
    return _rule(await scope.store.set_rule(body.kind, body.pattern, enabled=body.enabled, audiences=body.audiences))


@router.get("/effective-tools", summary="What one identity sees and may call on one endpoint")
async def effective_tools(
    scope: Admin,
    token_id: Annotated[str | None, Query(description="As this token (id or prefix).")] = None,
    subject: Annotated[str | None, Query(description="As an OIDC subject; needs role.")] = None,
    role: Annotated[Role | None, Query(description="The subject's role.")] = None,
    customer: Annotated[str | None, Query(description="The subject's customer (a customer identity).")] = None,
    anonymous: Annotated[bool, Query(description="As an anonymous client.")] = False,
    entity: Annotated[str | None, Query(description="On this entity's endpoint.")] = None,
) -> EffectiveOut:
    if sum((token_id is not None, subject is not None, anonymous)) != 1:
        raise Problem(422, "give exactly one of token_id, subject (with role), or anonymous=true")
    if (subject is None) != (role is None):
        raise Problem(422, "subject and role go together", field="role")
    if customer is not None and subject is None:
        raise Problem(422, "customer goes with subject and role", field="customer")
    result = await effective_items(
        scope.context.store,
        scope.tenant.slug,
        token_id=token_id,
        role=role,
        customer=customer,
        entity=entity,
        require_subscription=scope.context.settings.require_subscription,
    )
    viewer = result.viewer
    return EffectiveOut(
        viewer=ViewerOut(
            audience=viewer.audience,
            tools=list(viewer.tools) if viewer.tools is not None else None,
            selection=list(viewer.selection) if viewer.selection is not None else None,
        )
        if viewer is not None
        else None,
        items=[_item(i) for i in result.items if i.visible],
        failures=await _failures(scope, result.failures),
        refusal=result.refusal,
        withheld=[FailureOut(upstream=name, reason=why) for name, why in sorted(result.withheld.items())],
    )
