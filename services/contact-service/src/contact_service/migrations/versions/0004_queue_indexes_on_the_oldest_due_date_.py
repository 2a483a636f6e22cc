"""Queue indexes on the oldest due date, not the stored bucket

The work queues now take a case's bucket from days past due on today's business date (a
range of `oldest_due_on`, readmodel/repository/queues.py), as case-service does, instead of
the stored `bucket` column, which waited for the case's next event or the nightly aging. The
three partial indexes that named `bucket <> 'M0'` give way to ones on `oldest_due_on IS NOT
NULL`: by priority (every queue walks it and stops after the page), by due date (a narrow
bucket: range, then sort), and the promises-due one. And statistics on how many candidate
zones a case names: without them the planner guessed that 1% of the cases pass the queue's
zone test (a default for a function of an array), and sorted a whole bucket (24,504 rows of
100,000: 88 ms) where walking the priority index reads 75 rows (0.3 ms). Idempotent (IF [NOT]
EXISTS); built in
the migration's transaction (one row per case; for far larger tables build them
CONCURRENTLY by hand first).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 12:33:38.933306
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

QUEUED = "status = 'open' AND NOT blocked AND oldest_due_on IS NOT NULL"
CREATE = (
    "CREATE INDEX IF NOT EXISTS cs_cases_queue_by_priority"
    f" ON cs_cases (priority DESC, case_id) WHERE {QUEUED}",
    f"CREATE INDEX IF NOT EXISTS cs_cases_queue_by_due ON cs_cases (oldest_due_on) WHERE {QUEUED}",
    "CREATE INDEX IF NOT EXISTS cs_cases_queue_promises_by_priority"
    f" ON cs_cases (priority DESC, case_id) WHERE {QUEUED} AND open_promise_due IS NOT NULL",
    "CREATE STATISTICS IF NOT EXISTS cs_cases_candidate_zones"
    " ON (cardinality(candidate_timezones)) FROM cs_cases",
    "ANALYZE cs_cases",
)
OLD = (
    "CREATE INDEX IF NOT EXISTS cs_cases_queue ON cs_cases (priority DESC, case_id)"
    " WHERE status = 'open' AND NOT blocked AND bucket <> 'M0'",
    "CREATE INDEX IF NOT EXISTS cs_cases_queue_bucket ON cs_cases (bucket, priority DESC, case_id)"
    " WHERE status = 'open' AND NOT blocked",
    "CREATE INDEX IF NOT EXISTS cs_cases_queue_promises ON cs_cases (priority DESC, case_id)"
    " WHERE status = 'open' AND NOT blocked AND bucket <> 'M0' AND open_promise_due IS NOT NULL",
)


def upgrade() -> None:
    for name in ("cs_cases_queue", "cs_cases_queue_bucket", "cs_cases_queue_promises"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for statement in CREATE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP STATISTICS IF EXISTS cs_cases_candidate_zones")
    for name in (
        "cs_cases_queue_by_priority",
        "cs_cases_queue_by_due",
        "cs_cases_queue_promises_by_priority",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for statement in OLD:
        op.execute(statement)
