"""legal-service's own tables (SQLAlchemy 2 Core), created idempotently at startup.

- lg_cases: one row per case, folded from the case events (projections/), with the columns
  the pipeline and the limitation report filter and sort on.
- lg_assignments: the officer on a case and when legal-service referred it (its own data).
- lg_costs: the legal costs officers recorded here (each also forwarded to case-service,
  whose LegalCostIncurred events are the authoritative figures; see docs/legal-service.md).
- lg_enforcement_outcomes: how an enforcement ended (not a case event today either).
- lg_signals: what the file shows about the borrower (vanished, deceased, other creditors),
  recorded by officers in addition to what the events show.
- lg_tasks: every legal task emitted (task id unique): the record that makes each once.
- and the shared command_outbox, task_outbox and consumer tracking tables.

METADATA describes every table legal-service owns; its migrations (legal_service/migrations)
create and change them.
"""

from __future__ import annotations

from arrears.messaging.tracking import tracking_tables
from arrears.outbox.schema import outbox_tables
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

METADATA = MetaData()
MONEY = Numeric(20, 2)

CASES = Table(
    "lg_cases",
    METADATA,
    Column("case_id", Text, primary_key=True),
    Column("loan_id", Text),
    Column("currency", Text, nullable=False),
    Column("principal", MONEY, nullable=False),
    Column("outstanding", MONEY, nullable=False),
    Column("status", Text, nullable=False),
    Column("stage", Text, nullable=False),  # from the events: none .. enforcement, closed...
    Column("court", Text),
    Column("docket_number", Text),
    Column("claim_amount", MONEY),
    Column("oldest_due_on", Date),
    Column("limitation_runs_from", Date),
    Column("limitation_expires_on", Date),
    Column("has_guarantors", Boolean, nullable=False, server_default=text("false")),
    Column("has_collateral", Boolean, nullable=False, server_default=text("false")),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", JSONB, nullable=False),
    Index("lg_cases_stage", "stage", "case_id"),
    Index(
        "lg_cases_limitation",
        "limitation_expires_on",
        "case_id",
        postgresql_where=text(
            "status = 'open' AND stage IN ('none', 'demand_served') "
            "AND limitation_expires_on IS NOT NULL"
        ),
    ),
)

ASSIGNMENTS = Table(
    "lg_assignments",
    METADATA,
    Column("case_id", Text, primary_key=True),
    Column("officer", Text),
    Column("referred_on", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("lg_assignments_officer", "officer"),
)

COSTS = Table(
    "lg_costs",
    METADATA,
    Column("cost_id", Text, primary_key=True),  # uuid5 of case id and Idempotency-Key
    Column("case_id", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("currency", Text, nullable=False),
    Column("incurred_on", Date, nullable=False),
    Column("reference", Text),
    Column("description", Text),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

ENFORCEMENT_OUTCOMES = Table(
    "lg_enforcement_outcomes",
    METADATA,
    Column("outcome_id", Text, primary_key=True),
    Column("case_id", Text, nullable=False, index=True),
    Column("enforcement_ref", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("recovered_amount", MONEY, nullable=False),
    Column("currency", Text, nullable=False),
    Column("ended_on", Date, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

SIGNALS = Table(
    "lg_signals",
    METADATA,
    Column("signal_id", Text, primary_key=True),
    Column("case_id", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("noted_on", Date, nullable=False),
    Column("source", Text),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

TASKS = Table(
    "lg_tasks",
    METADATA,
    Column("task_id", Text, primary_key=True),
    Column("case_id", Text, nullable=False, index=True),
    Column("task_type", Text, nullable=False),
    Column("task_key", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("emitted_at", DateTime(timezone=True), nullable=False),
)


outbox_tables(METADATA)
tracking_tables(METADATA)
