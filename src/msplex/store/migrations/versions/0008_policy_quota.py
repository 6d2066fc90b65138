"""Tool policy rules, quotas and the read-only tenant flag (chain stages 8 and 9).

Revision ID: 0008_policy_quota
Revises: 0006_approvals
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from msplex.store.models import UTCDateTime

revision = "0008_policy_quota"
down_revision = "0007_entitlements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "policy_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("effect", sa.String(8), nullable=False),
        sa.Column("audiences", sa.JSON, nullable=False),
        sa.Column("customers", sa.JSON, nullable=False),
        sa.Column("tools", sa.JSON, nullable=False),
        sa.Column("read_only", sa.Boolean, nullable=True),
        sa.Column("destructive", sa.Boolean, nullable=True),
        sa.Column("condition", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_policy_rules_tenant_name"),
    )
    op.create_index("ix_policy_rules_tenant_id", "policy_rules", ["tenant_id"])
    op.create_table(
        "quotas",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=True),
        sa.Column("window", sa.String(8), nullable=False),
        sa.Column("limit", sa.BigInteger, nullable=False),
        sa.Column("overage", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_quotas_tenant_name"),
    )
    op.create_index("ix_quotas_tenant_id", "quotas", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("quotas")
    op.drop_table("policy_rules")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("read_only")
