"""case-service's own tables as its former start-up created them

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-05 10:27:35.282874
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a database whose tables the former start-up created is adopted as it is.
    op.create_table(
        "aging_days",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column(
            "ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("as_of"),
        if_not_exists=True,
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_notification_id", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_name", sa.Text(), nullable=False),
        sa.Column("key_id", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
        if_not_exists=True,
    )
    op.create_table(
        "case_index",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        if_not_exists=True,
    )
    op.create_table(
        "event_correlations",
        sa.Column("originator_id", sa.Uuid(), nullable=False),
        sa.Column("originator_version", sa.BigInteger(), nullable=False),
        sa.Column("correlation_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("originator_id", "originator_version"),
        if_not_exists=True,
    )
    op.create_table(
        "event_hashes",
        sa.Column("originator_id", sa.Uuid(), nullable=False),
        sa.Column("originator_version", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("originator_id", "originator_version"),
        sa.UniqueConstraint("notification_id"),
        if_not_exists=True,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope", "key"),
        if_not_exists=True,
    )
    op.create_table(
        "relay_position",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("relay_position")
    op.drop_table("idempotency_keys")
    op.drop_table("event_hashes")
    op.drop_table("event_correlations")
    op.drop_table("case_index")
    op.drop_table("audit_checkpoints")
    op.drop_table("aging_days")
