"""Approval requests: calls held until a person approves them (chain stage 10).

Revision ID: 0006_approvals
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from msplex.store.models import UTCDateTime

revision = "0006_approvals"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("instance", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=True),
        sa.Column("requester", sa.String(300), nullable=False),
        sa.Column("arguments_redacted", sa.JSON, nullable=False),
        sa.Column("arguments_enc", sa.Text, nullable=False),
        sa.Column("arguments_digest", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(300), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("executed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_approval_requests_tenant_status", "approval_requests", ["tenant_id", "status", "created_at"])


def downgrade() -> None:
    op.drop_table("approval_requests")
