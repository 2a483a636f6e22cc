"""KPI counters, and indexes for the supervisor's lists and the promises list

`cs_kpi_counts` holds the running counters `GET /v1/kpis` sums (projections/kpi.py): the
projection appends each change to `cs_kpi_deltas` in the transaction that writes the rows
they count, and the deltas are folded into the counters; this migration
fills them once from the rows already there (the same aggregates the KPIs ran before), so an
upgraded read model answers as before. Partial indexes let the blocked-cases and
agency-placements lists walk only their page, and the promises list walks its order
(by due date, with or without a status) and joins its cases after the limit. Idempotent
(IF [NOT] EXISTS; the counters are filled only when the table was just created); built in
the migration's transaction (for far larger tables build the indexes CONCURRENTLY first).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 13:19:28.063487
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = (
    "CREATE INDEX IF NOT EXISTS cs_cases_blocked_by_priority ON cs_cases"
    " (priority DESC, case_id) WHERE status = 'open' AND blocked",
    "CREATE INDEX IF NOT EXISTS cs_cases_placed_by_agency ON cs_cases"
    " (agency_id, priority DESC, case_id) WHERE status = 'open' AND agency_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS cs_promises_by_due ON cs_promises"
    " (promised_date, case_id, promise_id)",
    "CREATE INDEX IF NOT EXISTS cs_promises_by_status_due ON cs_promises"
    " (status, promised_date, case_id, promise_id)",
)
FILL = (
    "INSERT INTO cs_kpi_counts (measure, day, arm, strategy, k1, k2, n, amount) "
    "SELECT kind, on_date, arm, strategy, coalesce(from_bucket, reason, ''),"
    " coalesce(to_bucket, ''), count(*), coalesce(sum(amount), 0) FROM cs_outcomes"
    " GROUP BY 1, 2, 3, 4, 5, 6",
    "INSERT INTO cs_kpi_counts (measure, day, arm, strategy, k1, k2, n, amount) "
    "SELECT 'promise', resolved_on, arm, strategy, status, '', count(*), 0"
    " FROM cs_promises WHERE status <> 'open' AND resolved_on IS NOT NULL"
    " GROUP BY 2, 3, 4, 5",
    "INSERT INTO cs_kpi_counts (measure, day, arm, strategy, k1, k2, n, amount) "
    "SELECT 'attempt', (occurred_at AT TIME ZONE 'UTC')::date, coalesce(arm, ''),"
    " coalesce(strategy, ''), CASE WHEN outcome = 'right_party_contact' THEN 'rpc' ELSE '' END,"
    " '', count(*), 0 FROM cs_attempts WHERE version IS NOT NULL AND NOT inbound"
    " GROUP BY 2, 3, 4, 5",
    "INSERT INTO cs_kpi_counts (measure, day, arm, strategy, k1, k2, n, amount) "
    "SELECT 'case', (opened_at AT TIME ZONE 'UTC')::date, arm, strategy,"
    " CASE WHEN status = 'open' THEN 'open' ELSE 'closed' END,"
    " CASE WHEN status = 'open' THEN '' ELSE ((updated_at AT TIME ZONE 'UTC')::date)::text END,"
    " count(*), 0 FROM cs_cases GROUP BY 2, 3, 4, 5, 6",
)


def upgrade() -> None:
    created = op.get_bind().exec_driver_sql("SELECT to_regclass('cs_kpi_counts') IS NULL")
    fill = bool(created.scalar())
    op.execute(
        "CREATE TABLE IF NOT EXISTS cs_kpi_counts (measure text NOT NULL, day date NOT NULL,"
        " arm text NOT NULL, strategy text NOT NULL, k1 text NOT NULL, k2 text NOT NULL,"
        " n bigint NOT NULL, amount numeric(20, 2) NOT NULL,"
        " PRIMARY KEY (measure, day, arm, strategy, k1, k2))"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS cs_kpi_deltas (id bigserial PRIMARY KEY,"
        " measure text NOT NULL, day date NOT NULL, arm text NOT NULL, strategy text NOT NULL,"
        " k1 text NOT NULL, k2 text NOT NULL, n bigint NOT NULL, amount numeric(20, 2) NOT NULL)"
    )
    if fill:
        for statement in FILL:
            op.execute(statement)
    for statement in INDEXES:
        op.execute(statement)


def downgrade() -> None:
    for name in (
        "cs_promises_by_status_due",
        "cs_promises_by_due",
        "cs_cases_placed_by_agency",
        "cs_cases_blocked_by_priority",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS cs_kpi_deltas")
    op.execute("DROP TABLE IF EXISTS cs_kpi_counts")
