"""Subject keys: personal data sealed per data subject (issue 12, docs/audit.md)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 10:57:42.152430
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a database whose recorder created the table before this revision is adopted.
    op.create_table(
        "subject_keys",
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject_id"),
        if_not_exists=True,
    )
    op.create_index(
        "subject_keys_case_idx", "subject_keys", ["case_id"], unique=False, if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("subject_keys_case_idx", table_name="subject_keys")
    op.drop_table("subject_keys")
