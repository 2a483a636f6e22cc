"""contact-service's own tables (SQLAlchemy 2, asyncpg). METADATA describes every table it
owns (with the shared outbox and consumer tracking tables); its migrations
(contact_service/migrations) create and change them.

No personal data in clear (contact_service.sealing): numbers are stored as a keyed blind
index (what every match compares) beside the number sealed with contact-service's key and a
masked form for answers; the borrower's address is sealed. Every API output and log line
shows values masked (`policy.model.mask_point`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from arrears.messaging.tracking import tracking_tables
from arrears.outbox.schema import outbox_tables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(20, 2)


class Base(DeclarativeBase):
    pass


QUEUED = "status = 'open' AND NOT blocked AND oldest_due_on IS NOT NULL"


class CaseRow(Base):
    """One row per case: what the queue, the guard and the strategy read."""

    __tablename__ = "cs_cases"
    case_id: Mapped[str] = mapped_column(Text, primary_key=True)
    loan_id: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    principal: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(Text, default="open")
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    bucket: Mapped[str] = mapped_column(Text, default="M0")
    bucket_entered_on: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)  # as of the last event
    oldest_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    arrears: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    paid_total: Mapped[Decimal] = mapped_column(
        Money, default=Decimal("0"), server_default=text("0")
    )
    installments: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    risk_grade: Mapped[str | None] = mapped_column(Text, nullable=True)
    risk_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timezone: Mapped[str] = mapped_column(Text)
    # The case's jurisdiction (CaseOpened, JurisdictionChanged); None: the JURISDICTION setting.
    jurisdiction: Mapped[str | None] = mapped_column(Text, nullable=True)
    candidate_timezones: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'")
    )
    payday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # day of month
    address: Mapped[str | None] = mapped_column(Text, nullable=True)  # sealed; letters, visits
    contactability: Mapped[str] = mapped_column(Text, default="reachable")
    lost_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_rpc_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    opted_out_channels: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'")
    )
    in_dispute: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    open_complaints: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'")
    )
    parties: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    open_promise_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    open_promise_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    open_promise_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    promises_kept: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    promises_broken: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    agency_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    strategy: Mapped[str] = mapped_column(Text)
    arm: Mapped[str] = mapped_column(Text)
    # Queue order, recomputed on every change and by the daily run (see readmodel.priority).
    priority: Mapped[int] = mapped_column(BigInteger, default=0)
    # A lasting bar on collection contact (flags, dispute, complaint): out of the queues.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # The work queues (readmodel/repository/queues.py): open, unblocked, with an unpaid due
    # date; each queue's bucket is a range of that date on today's business date.
    __table_args__ = (
        Index(
            "cs_cases_queue_by_priority",
            text("priority DESC"),
            "case_id",
            postgresql_where=text(QUEUED),
        ),
        Index("cs_cases_queue_by_due", "oldest_due_on", postgresql_where=text(QUEUED)),
        # The promises-due queue: few cases, so walking the priority index would read most.
        Index(
            "cs_cases_queue_promises_by_priority",
            text("priority DESC"),
            "case_id",
            postgresql_where=text(QUEUED + " AND open_promise_due IS NOT NULL"),
        ),
        # The supervisor's lists (readmodel/repository/blocked.py) read only their page.
        Index(
            "cs_cases_blocked_by_priority",
            text("priority DESC"),
            "case_id",
            postgresql_where=text("status = 'open' AND blocked"),
        ),
        Index(
            "cs_cases_placed_by_agency",
            "agency_id",
            text("priority DESC"),
            "case_id",
            postgresql_where=text("status = 'open' AND agency_id IS NOT NULL"),
        ),
    )


class ZoneRow(Base):
    """Every time zone a case has named (the queue asks which of them are awake now)."""

    __tablename__ = "cs_zones"
    zone: Mapped[str] = mapped_column(Text, primary_key=True)


class ContactPointRow(Base):
    __tablename__ = "cs_contact_points"
    case_id: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)  # blind index (point_key)
    party: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, default="mobile")
    state: Mapped[str] = mapped_column(Text, default="valid")
    opted_out: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'")
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # the number, sealed
    masked: Mapped[str | None] = mapped_column(Text, nullable=True)


class AttemptRow(Base):
    """Contact history: attempts case-service recorded, and ones forwarded, not yet back."""

    __tablename__ = "cs_attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text, unique=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: on its way
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(Text)
    party: Mapped[str] = mapped_column(Text)
    point: Mapped[str] = mapped_column(Text)  # blind index (point_key)
    point_masked: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(Text)
    inbound: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    recording_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    strategy: Mapped[str | None] = mapped_column(Text, nullable=True)
    arm: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The command that forwards it (arrears.outbox): if case-service rejects it, the guard
    # stops counting the attempt.
    command_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("cs_attempts_case_time", "case_id", "occurred_at"),)


class PromiseRow(Base):
    __tablename__ = "cs_promises"
    promise_id: Mapped[str] = mapped_column(Text, primary_key=True)
    case_id: Mapped[str] = mapped_column(Text, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(Text)
    promised_date: Mapped[date] = mapped_column(Date)
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(Text, default="open")
    resolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    strategy: Mapped[str] = mapped_column(Text)
    arm: Mapped[str] = mapped_column(Text)

    # The promises list (readmodel/repository/promises.py) walks these in its order.
    __table_args__ = (
        Index("cs_promises_by_due", "promised_date", "case_id", "promise_id"),
        Index("cs_promises_by_status_due", "status", "promised_date", "case_id", "promise_id"),
    )


class KpiCountRow(Base):
    """What the KPIs count, as running counters: the projection appends each change to
    `cs_kpi_deltas` in the transaction that writes the rows it counts, and they are folded in
    here (projections/kpi.py), so `GET /v1/kpis` sums a few rows a day instead of reading
    every outcome, attempt and case. Derived only from events: a
    replay or a rebuild gives the same counts. One row per (measure, day, arm, strategy, key):

    - `bucket_move` (day: on_date; k1, k2: from and to bucket), `closure` (k1: reason),
      `payment` (amount: the sum): cs_outcomes rows;
    - `promise` (day: resolved_on; k1: kept | broken): resolved cs_promises, by the promise's
      own strategy and arm;
    - `attempt` (day: occurred_at's UTC date; k1: `rpc` for a right-party contact, else ''):
      outbound cs_attempts recorded by case-service (version not null);
    - `case` (day: opened_at's UTC date; k1: open | closed; k2: a closed case's updated_at
      UTC date, ISO): every cs_cases row.
    """

    __tablename__ = "cs_kpi_counts"
    measure: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    arm: Mapped[str] = mapped_column(Text, primary_key=True)
    strategy: Mapped[str] = mapped_column(Text, primary_key=True)
    k1: Mapped[str] = mapped_column(Text, primary_key=True, default="")
    k2: Mapped[str] = mapped_column(Text, primary_key=True, default="")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class KpiDeltaRow(Base):
    """Changes to the KPI counters not yet folded into `cs_kpi_counts` (projections/kpi.py):
    the projection only appends here."""

    __tablename__ = "cs_kpi_deltas"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    measure: Mapped[str] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    arm: Mapped[str] = mapped_column(Text)
    strategy: Mapped[str] = mapped_column(Text)
    k1: Mapped[str] = mapped_column(Text)
    k2: Mapped[str] = mapped_column(Text)
    n: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Money)


class OutcomeRow(Base):
    """Dated facts the KPIs count: bucket moves, payments, closures (one per case event)."""

    __tablename__ = "cs_outcomes"
    case_id: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)  # bucket_move | payment | closure
    on_date: Mapped[date] = mapped_column(Date, index=True)
    from_bucket: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_bucket: Mapped[str | None] = mapped_column(Text, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    strategy: Mapped[str] = mapped_column(Text)
    arm: Mapped[str] = mapped_column(Text)


class RestrictionRow(Base):
    """Every restriction recorded or lifted here (who, when): the audit trail, and what a
    rebuild of the read models from the case events applies again."""

    __tablename__ = "cs_restrictions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(Text, index=True)
    kind: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact_point: Mapped[str | None] = mapped_column(Text, nullable=True)  # blind index
    recorded_by: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What proves a consent or a loosening fact: {recording_ref | document_ref, given_at}.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)


class DecisionRow(Base):
    """Every guard decision given here (the permission endpoints, recorded attempts and
    promises): what was asked, by whom, under which profile and version, and every rule of
    the profile with its outcome, so an auditor can answer "why was this call allowed on
    that day?" The contact point is kept masked."""

    __tablename__ = "cs_decisions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    use: Mapped[str] = mapped_column(Text)  # permission | attempt | promise
    asked_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    party: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    point_masked: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(Text)
    allowed: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    next_allowed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    profile: Mapped[str] = mapped_column(Text)
    profile_version: Mapped[str] = mapped_column(Text)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)

    __table_args__ = (Index("cs_decisions_case", "case_id", text("id DESC")),)


class ClaimRow(Base):
    """A case leased to one collector until `expires_at`."""

    __tablename__ = "cs_claims"
    case_id: Mapped[str] = mapped_column(Text, primary_key=True)
    collector: Mapped[str] = mapped_column(Text)
    lease_id: Mapped[str] = mapped_column(Text)
    queue: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TaskRow(Base):
    """Every contact task decided (its id is stable: a rerun finds it here and skips it)."""

    __tablename__ = "cs_tasks"
    task_id: Mapped[str] = mapped_column(Text, primary_key=True)
    case_id: Mapped[str] = mapped_column(Text, index=True)
    task_type: Mapped[str] = mapped_column(Text)
    step: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    party: Mapped[str] = mapped_column(Text)
    strategy: Mapped[str] = mapped_column(Text)
    strategy_version: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DailyRunRow(Base):
    __tablename__ = "cs_daily_runs"
    run_date: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    runs: Mapped[int] = mapped_column(Integer, default=1)
    cases_seen: Mapped[int] = mapped_column(Integer, default=0)
    tasks_emitted: Mapped[int] = mapped_column(Integer, default=0)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


CASES = _table(CaseRow)
POINTS = _table(ContactPointRow)
ZONES = _table(ZoneRow)
ATTEMPTS = _table(AttemptRow)
PROMISES = _table(PromiseRow)
OUTCOMES = _table(OutcomeRow)
KPI_COUNTS = _table(KpiCountRow)
KPI_DELTAS = _table(KpiDeltaRow)
CLAIMS = _table(ClaimRow)
RESTRICTIONS = _table(RestrictionRow)
TASKS = _table(TaskRow)
DECISIONS = _table(DecisionRow)
RUNS = _table(DailyRunRow)

METADATA = Base.metadata
outbox_tables(METADATA)  # the guard's history query reads command_outbox
tracking_tables(METADATA)
