"""The audit log (hash-chained per tenant), its chain heads, and the usage counters (chain stage 12).

Revision ID: 0009_audit
Revises: 0008_policy_quota
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from msplex.store.models import UTCDateTime

revision = "0009_audit"
down_revision = "0008_policy_quota"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("principal", sa.String(300), nullable=False),
        sa.Column("audience", sa.String(16), nullable=True),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("customer", sa.String(63), nullable=True),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("connector", sa.String(63), nullable=True),
        sa.Column("args_digest", sa.String(100), nullable=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(200), nullable=True),
        sa.Column("approval_id", sa.String(36), nullable=True),
        sa.Column("overage", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer, nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("latency_us", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("prev_hash", sa.String(100), nullable=False),
        sa.Column("hash", sa.String(100), nullable=False),
    )
    op.create_index("ix_audit_records_tenant_at", "audit_records", ["tenant_id", "at"])
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(100), nullable=False),
        sa.Column("mac", sa.String(100), nullable=False),
    )
    op.create_table(
        "usage_counters",
        sa.Column("tenant_id", sa.String(36), primary_key=True),
        sa.Column("hour", UTCDateTime(), primary_key=True),
        sa.Column("method", sa.String(64), primary_key=True),
        sa.Column("customer", sa.String(63), primary_key=True),
        sa.Column("connector", sa.String(63), primary_key=True),
        sa.Column("tool", sa.String(200), primary_key=True),
        sa.Column("principal", sa.String(300), primary_key=True),
        sa.Column("stage", sa.String(32), primary_key=True),
        *(
            sa.Column(name, sa.BigInteger, nullable=False)
            for name in ("calls", "ok", "denied", "held", "errors", "overage", "duration_us")
        ),
    )


def downgrade() -> None:
    op.drop_table("usage_counters")
    op.drop_table("audit_heads")
    op.drop_index("ix_audit_records_tenant_at", "audit_records")
    op.drop_table("audit_records")
