"""Vendor connector instances (settings, vault-sealed secrets and token), customers' vendor ids, and a
stdio upstream's vault-sealed environment.

Revision ID: 0010_vault
Revises: 0006_approvals
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from msplex.store.models import UTCDateTime

revision = "0010_vault"
down_revision = "0006_approvals"
branch_labels = None
depends_on = None


def _tenant_fk() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(36), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("base_url", sa.Text, nullable=False),
        sa.Column("token_url", sa.Text, nullable=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("secret_fields", sa.JSON, nullable=False),
        sa.Column("secrets_enc", sa.Text, nullable=False),
        sa.Column("token_enc", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_connectors_tenant_name"),
    )
    op.create_index("ix_connectors_tenant_id", "connectors", ["tenant_id"])
    op.create_table(
        "customer_vendor_ids",
        sa.Column("id", sa.String(36), primary_key=True),
        _tenant_fk(),
        sa.Column("connector_id", sa.String(36), sa.ForeignKey("connectors.id", ondelete="CASCADE"), nullable=False),
        sa.Column("customer_id", sa.String(36), sa.ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("vendor_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("connector_id", "customer_id", name="uq_customer_vendor_ids_customer"),
        sa.UniqueConstraint("connector_id", "vendor_id", name="uq_customer_vendor_ids_vendor"),
    )
    for column in ("tenant_id", "connector_id", "customer_id"):
        op.create_index(f"ix_customer_vendor_ids_{column}", "customer_vendor_ids", [column])
    with op.batch_alter_table("upstreams") as batch:
        batch.add_column(sa.Column("env_enc", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upstreams") as batch:
        batch.drop_column("env_enc")
    op.drop_table("customer_vendor_ids")
    op.drop_table("connectors")
