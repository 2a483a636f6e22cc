"""An index for the promises-due queue

Its query (readmodel/repository/queues.py) filters open, unblocked, delinquent cases with a
promise due and orders them by priority: few rows, so walking cs_cases_queue read most of
the portfolio to fill a page. Built in the migration's transaction: cs_cases is one row per
case, which builds in seconds even for millions; for far larger tables build it
CONCURRENTLY by hand first (IF NOT EXISTS then skips it here).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 10:30:48
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WHERE = "status = 'open' AND NOT blocked AND bucket <> 'M0' AND open_promise_due IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "cs_cases_queue_promises",
        "cs_cases",
        [sa.literal_column("priority DESC"), "case_id"],
        postgresql_where=sa.text(WHERE),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("cs_cases_queue_promises", table_name="cs_cases")
