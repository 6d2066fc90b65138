"""Identity and tenancy: customers, token roles and scope, the per-item ACL, entities, OIDC providers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from msplex.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _tenant_fk() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "slug", name="uq_customers_tenant_slug"),
    )
    op.create_index("ix_customers_tenant_id", "customers", ["tenant_id"])
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("tenant_id", existing_type=sa.String(36), nullable=True)
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="member"))
        batch.add_column(
            sa.Column(
                "customer_id",
                sa.String(36),
                sa.ForeignKey("customers.id", name="fk_api_tokens_customer", ondelete="CASCADE"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("tools", sa.JSON, nullable=True))
        batch.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("upstreams") as batch:
        batch.add_column(sa.Column("registered_by", sa.String(8), nullable=False, server_default="operator"))
    op.create_table(
        "item_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pattern", sa.String(300), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("audiences", sa.JSON, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "kind", "pattern", name="uq_item_rules_pattern"),
    )
    op.create_index("ix_item_rules_tenant_id", "item_rules", ["tenant_id"])
    op.create_table(
        "entities",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("icon_url", sa.Text, nullable=True),
        sa.Column("website_url", sa.Text, nullable=True),
        sa.Column("support_url", sa.Text, nullable=True),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=True),
        sa.Column("allow_anonymous", sa.Boolean, nullable=False),
        sa.Column("tools", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_entities_tenant_id", "entities", ["tenant_id"])
    op.create_table(
        "oidc_providers",
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("jwks_url", sa.Text, nullable=True),
        sa.Column("customer_claim", sa.String(200), nullable=False),
        sa.Column("roles_claim", sa.String(200), nullable=False),
        sa.Column("role_map", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oidc_providers")
    op.drop_table("entities")
    op.drop_table("item_rules")
    with op.batch_alter_table("upstreams") as batch:
        batch.drop_column("registered_by")
    with op.batch_alter_table("api_tokens") as batch:
        for column in ("last_used_at", "expires_at", "tools", "customer_id", "role"):
            batch.drop_column(column)
        batch.alter_column("tenant_id", existing_type=sa.String(36), nullable=False)
    op.drop_table("customers")
