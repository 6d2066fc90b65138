"""Entitlements: plans (the operator's) and one subscription per tenant (chain stages 4 to 6).

Revision ID: 0007_entitlements
Revises: 0006_approvals
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from msplex.store.models import UTCDateTime

revision = "0007_entitlements"
down_revision = "0006_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("connectors", sa.JSON, nullable=False),
        sa.Column("calls_per_month", sa.BigInteger, nullable=True),
        sa.Column("overage", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("plan_id", sa.String(36), sa.ForeignKey("plans.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("grace_days", sa.Integer, nullable=False),
        sa.Column("trial_ends_at", UTCDateTime(), nullable=True),
        sa.Column("past_due_since", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_subscriptions_plan_id", "subscriptions", ["plan_id"])


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_table("plans")
