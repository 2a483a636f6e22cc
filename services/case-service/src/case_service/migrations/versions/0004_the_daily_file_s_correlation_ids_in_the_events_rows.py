"""The daily file's correlation ids kept in the events' own rows (issue 14, docs/benchmarks.md)

A nullable column `correlation_id` in the library's events table, `cases_events`: the daily
file writes its request's correlation id there, in the INSERT of its events, instead of a
row of `event_correlations` per event (a second insert and index entry per event). The
command writer still writes `event_correlations`; readers take the event's column, else its
row there (case_service.persistence, relay/store.py), so events recorded before keep theirs.

As for 0003: on a new database the library creates `cases_events` after the migrations, and
the recorder creates it with the column (case_service.persistence.CORRELATION_COLUMN). On an
existing one, adding a nullable column without a default changes only the catalog: no event
row is rewritten, and no stored byte or hash changes. Idempotent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 09:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE IF EXISTS cases_events ADD COLUMN IF NOT EXISTS correlation_id text")


def downgrade() -> None:
    # Each event's correlation id back into a row of `event_correlations`, then the column
    # dropped.
    op.execute(
        "DO $$ BEGIN "
        "IF to_regclass('cases_events') IS NOT NULL AND EXISTS (SELECT 1 FROM "
        "information_schema.columns WHERE table_name = 'cases_events' "
        "AND column_name = 'correlation_id') THEN "
        "INSERT INTO event_correlations (originator_id, originator_version, correlation_id) "
        "SELECT originator_id, originator_version, correlation_id FROM cases_events "
        "WHERE correlation_id IS NOT NULL ON CONFLICT DO NOTHING; "
        "ALTER TABLE cases_events DROP COLUMN correlation_id; "
        "END IF; END $$"
    )
