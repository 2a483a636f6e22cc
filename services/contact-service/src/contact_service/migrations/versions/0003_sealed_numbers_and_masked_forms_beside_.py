"""Sealed numbers and masked forms beside the blind index (issue 12)

Rows written before this revision hold numbers in clear in `value`: after upgrading,
rebuild the read model from case-service's feed (docs/operations.md) so every number is
replaced by its blind index and sealed value.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 10:57:46.247720
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a database whose start-up already added them is adopted as it is.
    op.execute("ALTER TABLE cs_attempts ADD COLUMN IF NOT EXISTS point_masked text")
    op.execute("ALTER TABLE cs_contact_points ADD COLUMN IF NOT EXISTS sealed text")
    op.execute("ALTER TABLE cs_contact_points ADD COLUMN IF NOT EXISTS masked text")


def downgrade() -> None:
    op.drop_column("cs_contact_points", "masked")
    op.drop_column("cs_contact_points", "sealed")
    op.drop_column("cs_attempts", "point_masked")
