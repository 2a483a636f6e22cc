"""Sessions signed in with the IdP keep its refresh token and ID token

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "console_sessions", sa.Column("refresh_token", sa.Text(), nullable=True), if_not_exists=True
    )
    op.add_column(
        "console_sessions", sa.Column("id_token", sa.Text(), nullable=True), if_not_exists=True
    )


def downgrade() -> None:
    op.drop_column("console_sessions", "id_token")
    op.drop_column("console_sessions", "refresh_token")
