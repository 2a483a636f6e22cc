"""contact-service's tables as the former create_all built them

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-05 10:24:49.755999
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from arrears.messaging.tracking import DDL as TRACKING_DDL
from arrears.migrations import execute_all
from arrears.outbox.schema import DDL as OUTBOX_DDL
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The shared tables in their first shape (arrears.outbox, arrears.messaging.tracking).
    execute_all(OUTBOX_DDL)
    execute_all(TRACKING_DDL)
    # IF NOT EXISTS: a database the former create_all start-up built is adopted as it is.
    op.create_table(
        "cs_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("point", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("inbound", sa.Boolean(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("recording_ref", sa.Text(), nullable=True),
        sa.Column("strategy", sa.Text(), nullable=True),
        sa.Column("arm", sa.Text(), nullable=True),
        sa.Column("command_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint"),
        if_not_exists=True,
    )
    op.create_index(
        "cs_attempts_case_time",
        "cs_attempts",
        ["case_id", "occurred_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "cs_cases",
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("bucket_entered_on", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("oldest_due_on", sa.Date(), nullable=True),
        sa.Column("arrears", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("paid_total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("installments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("risk_grade", sa.Text(), nullable=True),
        sa.Column("risk_score", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("jurisdiction", sa.Text(), nullable=True),
        sa.Column("candidate_timezones", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("payday", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("contactability", sa.Text(), nullable=False),
        sa.Column("lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_rpc_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("opted_out_channels", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("in_dispute", sa.Boolean(), nullable=False),
        sa.Column("open_complaints", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("parties", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("open_promise_id", sa.Text(), nullable=True),
        sa.Column("open_promise_due", sa.Date(), nullable=True),
        sa.Column("open_promise_amount", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("promises_kept", sa.Integer(), nullable=False),
        sa.Column("promises_broken", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Text(), nullable=True),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        if_not_exists=True,
    )
    op.create_index(
        "cs_cases_queue",
        "cs_cases",
        [sa.literal_column("priority DESC"), "case_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND NOT blocked AND bucket <> 'M0'"),
        if_not_exists=True,
    )
    op.create_index(
        "cs_cases_queue_bucket",
        "cs_cases",
        ["bucket", sa.literal_column("priority DESC"), "case_id"],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND NOT blocked"),
        if_not_exists=True,
    )
    op.create_table(
        "cs_claims",
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("collector", sa.Text(), nullable=False),
        sa.Column("lease_id", sa.Text(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        if_not_exists=True,
    )
    op.create_table(
        "cs_contact_points",
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("opted_out", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "value"),
        if_not_exists=True,
    )
    op.create_table(
        "cs_daily_runs",
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("cases_seen", sa.Integer(), nullable=False),
        sa.Column("tasks_emitted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_date"),
        if_not_exists=True,
    )
    op.create_table(
        "cs_decisions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use", sa.Text(), nullable=False),
        sa.Column("asked_by", sa.Text(), nullable=True),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("point_masked", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("next_allowed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("profile_version", sa.Text(), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        "cs_decisions_case",
        "cs_decisions",
        ["case_id", sa.literal_column("id DESC")],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "cs_outcomes",
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("from_bucket", sa.Text(), nullable=True),
        sa.Column("to_bucket", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "version"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_cs_outcomes_on_date"), "cs_outcomes", ["on_date"], unique=False, if_not_exists=True
    )
    op.create_table(
        "cs_promises",
        sa.Column("promise_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("promise_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_cs_promises_case_id"), "cs_promises", ["case_id"], unique=False, if_not_exists=True
    )
    op.create_table(
        "cs_restrictions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("contact_point", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_cs_restrictions_case_id"),
        "cs_restrictions",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "cs_tasks",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("task_type", sa.Text(), nullable=False),
        sa.Column("step", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("strategy_version", sa.Integer(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_cs_tasks_case_id"), "cs_tasks", ["case_id"], unique=False, if_not_exists=True
    )
    op.create_table(
        "cs_zones",
        sa.Column("zone", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("zone"),
        if_not_exists=True,
    )
    # Columns the former start-up added to databases older than them (its ADDED_COLUMNS).
    op.execute("ALTER TABLE cs_cases ADD COLUMN IF NOT EXISTS jurisdiction text")
    op.execute("ALTER TABLE cs_restrictions ADD COLUMN IF NOT EXISTS evidence jsonb")


def downgrade() -> None:
    op.drop_table("cs_zones")
    op.drop_table("cs_tasks")
    op.drop_table("cs_restrictions")
    op.drop_table("cs_promises")
    op.drop_table("cs_outcomes")
    op.drop_table("cs_decisions")
    op.drop_table("cs_daily_runs")
    op.drop_table("cs_contact_points")
    op.drop_table("cs_claims")
    op.drop_table("cs_cases")
    op.drop_table("cs_attempts")
    for table in (
        "task_outbox",
        "command_outbox",
        "consumer_subject_versions",
        "consumer_processed_events",
    ):
        op.drop_table(table)
