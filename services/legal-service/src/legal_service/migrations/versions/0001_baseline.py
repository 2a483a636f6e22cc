"""legal-service's tables as the former create_all built them

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-05 10:24:05.646300
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
        "lg_assignments",
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("officer", sa.Text(), nullable=True),
        sa.Column("referred_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        if_not_exists=True,
    )
    op.create_index(
        "lg_assignments_officer", "lg_assignments", ["officer"], unique=False, if_not_exists=True
    )
    op.create_table(
        "lg_cases",
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("principal", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("outstanding", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("court", sa.Text(), nullable=True),
        sa.Column("docket_number", sa.Text(), nullable=True),
        sa.Column("claim_amount", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("oldest_due_on", sa.Date(), nullable=True),
        sa.Column("limitation_runs_from", sa.Date(), nullable=True),
        sa.Column("limitation_expires_on", sa.Date(), nullable=True),
        sa.Column("has_guarantors", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("has_collateral", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        if_not_exists=True,
    )
    op.create_index(
        "lg_cases_limitation",
        "lg_cases",
        ["limitation_expires_on", "case_id"],
        unique=False,
        postgresql_where=sa.text(
            "status = 'open' AND stage IN ('none', 'demand_served') AND limitation_expires_on IS NOT NULL"
        ),
        if_not_exists=True,
    )
    op.create_index(
        "lg_cases_stage", "lg_cases", ["stage", "case_id"], unique=False, if_not_exists=True
    )
    op.create_table(
        "lg_costs",
        sa.Column("cost_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cost_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_lg_costs_case_id"), "lg_costs", ["case_id"], unique=False, if_not_exists=True
    )
    op.create_table(
        "lg_enforcement_outcomes",
        sa.Column("outcome_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("enforcement_ref", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recovered_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("outcome_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_lg_enforcement_outcomes_case_id"),
        "lg_enforcement_outcomes",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "lg_signals",
        sa.Column("signal_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("noted_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signal_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_lg_signals_case_id"), "lg_signals", ["case_id"], unique=False, if_not_exists=True
    )
    op.create_table(
        "lg_tasks",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("task_type", sa.Text(), nullable=False),
        sa.Column("task_key", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("emitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_lg_tasks_case_id"), "lg_tasks", ["case_id"], unique=False, if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("lg_tasks")
    op.drop_table("lg_signals")
    op.drop_table("lg_enforcement_outcomes")
    op.drop_table("lg_costs")
    op.drop_table("lg_cases")
    op.drop_table("lg_assignments")
    for table in (
        "task_outbox",
        "command_outbox",
        "consumer_subject_versions",
        "consumer_processed_events",
    ):
        op.drop_table(table)
