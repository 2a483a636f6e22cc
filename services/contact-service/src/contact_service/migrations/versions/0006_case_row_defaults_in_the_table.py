"""A new case's and contact point's usual starting values as the tables' own defaults

A rebuild copies a page's new cases into `cs_cases` and their points into
`cs_contact_points` (projections/fold.py), and leaves out a column that every one of them
holds at its starting value: the table then fills it in. Empty lists (flags, opted-out
channels, complaints, candidate zones; a point's opted-out channels), zero paid and zero
promises, no dispute. Nothing stored changes, and every other writer names each column as
before. Idempotent (setting a default again is a no-op).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 09:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Column and SQL default; contact_service.readmodel.tables.CASE_DEFAULTS holds the same.
DEFAULTS = (
    ("candidate_timezones", "'{}'"),
    ("flags", "'{}'"),
    ("opted_out_channels", "'{}'"),
    ("open_complaints", "'{}'"),
    ("paid_total", "0"),
    ("promises_kept", "0"),
    ("promises_broken", "0"),
    ("in_dispute", "false"),
)


def upgrade() -> None:
    for column, value in DEFAULTS:
        op.execute(f"ALTER TABLE cs_cases ALTER COLUMN {column} SET DEFAULT {value}")
    op.execute("ALTER TABLE cs_contact_points ALTER COLUMN opted_out SET DEFAULT '{}'")


def downgrade() -> None:
    for column, _ in DEFAULTS:
        op.execute(f"ALTER TABLE cs_cases ALTER COLUMN {column} DROP DEFAULT")
    op.execute("ALTER TABLE cs_contact_points ALTER COLUMN opted_out DROP DEFAULT")
