"""The hash chain moves into the events' rows (issue 12's cost, docs/audit.md)

Each chained event's recorded time and chain hash move from `event_hashes` into two columns
of the library's events table, `cases_events` (`recorded_at`, `hash`); the previous hash is
the previous version's `hash`, so it is not kept. `event_hashes` is then dropped: nothing
outside case-service reads it (docs/audit.md), and code that still wrote it fails its whole
INSERT rather than record an event unchained.

The library creates `cases_events` when case-service first starts, after the migrations: on
a new database there is no table yet, and the recorder creates it with the two columns
(case_service.audit.chain.with_chain_columns). On an existing one, adding the nullable
columns changes only the catalog; copying the chain rewrites every event row once (stop the
writers first, VACUUM after: docs/operations.md). Every step is idempotent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 17:48:31.125141
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The events table is the library's for the application named Cases: `cases_events`.


def upgrade() -> None:
    op.execute(
        "ALTER TABLE IF EXISTS cases_events ADD COLUMN IF NOT EXISTS recorded_at timestamptz, "
        "ADD COLUMN IF NOT EXISTS hash bytea"
    )
    op.execute(
        "DO $$ BEGIN "
        "IF to_regclass('cases_events') IS NOT NULL AND to_regclass('event_hashes') IS NOT NULL "
        "THEN UPDATE cases_events e SET recorded_at = h.recorded_at, hash = h.hash "
        "FROM event_hashes h WHERE e.originator_id = h.originator_id "
        "AND e.originator_version = h.originator_version AND e.hash IS NULL; "
        "END IF; END $$"
    )
    op.execute("DROP TABLE IF EXISTS event_hashes")


def downgrade() -> None:
    # The table as 0001 made it, refilled from the columns (each previous hash: the previous
    # chained version's, or 32 zero bytes), then the columns dropped.
    op.execute(
        "CREATE TABLE IF NOT EXISTS event_hashes (originator_id uuid NOT NULL, "
        "originator_version bigint NOT NULL, notification_id bigint NOT NULL UNIQUE, "
        "recorded_at timestamptz NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL, "
        "PRIMARY KEY (originator_id, originator_version))"
    )
    op.execute(
        "DO $$ BEGIN "
        "IF to_regclass('cases_events') IS NOT NULL THEN "
        "INSERT INTO event_hashes SELECT originator_id, originator_version, notification_id, "
        "recorded_at, COALESCE(lag(hash) OVER (PARTITION BY originator_id "
        "ORDER BY originator_version), decode(repeat('00', 32), 'hex')), hash "
        "FROM cases_events WHERE hash IS NOT NULL ON CONFLICT DO NOTHING; "
        "ALTER TABLE cases_events DROP COLUMN IF EXISTS recorded_at, DROP COLUMN IF EXISTS hash; "
        "END IF; END $$"
    )
