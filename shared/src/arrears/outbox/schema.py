"""The outbox tables: their first shape (DDL, run by each service's first migration) and
their SQLAlchemy description (`outbox_tables`, the migrations' target)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

# Frozen: each service's first migration runs these. A change is a new migration step in
# every service's history (and in `outbox_tables`), never an edit here.
DDL = (
    # Commands for case-service. One row per (case, command, Idempotency-Key): a resend of
    # the same request queues nothing new. `outcome` is NULL while pending, then
    # 'accepted' (2xx) or 'rejected' (a 4xx that resending cannot change).
    "CREATE TABLE IF NOT EXISTS command_outbox ("
    " id bigserial PRIMARY KEY,"
    " case_id text NOT NULL, command text NOT NULL, idempotency_key text NOT NULL,"
    " body jsonb NOT NULL, correlation_id text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " next_attempt_at timestamptz NOT NULL DEFAULT now(),"
    " attempts int NOT NULL DEFAULT 0, last_error text,"
    " outcome text, status int, response jsonb, delivered_at timestamptz,"
    " UNIQUE (case_id, command, idempotency_key))",
    "CREATE INDEX IF NOT EXISTS command_outbox_pending"
    " ON command_outbox (id) WHERE delivered_at IS NULL",
    # Tasks for Kafka. The task id is the primary key: a task decided twice is stored once.
    "CREATE TABLE IF NOT EXISTS task_outbox ("
    " seq bigserial UNIQUE, task_id text PRIMARY KEY, topic text NOT NULL,"
    " key text NOT NULL, envelope jsonb NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS task_outbox_unpublished"
    " ON task_outbox (seq) WHERE published_at IS NULL",
)


def outbox_tables(metadata: MetaData) -> None:
    """Describe command_outbox and task_outbox in a service's metadata (as DDL creates them)."""
    now = text("now()")
    Table(
        "command_outbox",
        metadata,
        Column("id", BigInteger, primary_key=True),
        Column("case_id", Text, nullable=False),
        Column("command", Text, nullable=False),
        Column("idempotency_key", Text, nullable=False),
        Column("body", JSONB, nullable=False),
        Column("correlation_id", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=now),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=now),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Column("outcome", Text),
        Column("status", Integer),
        Column("response", JSONB),
        Column("delivered_at", DateTime(timezone=True)),
        UniqueConstraint("case_id", "command", "idempotency_key"),
        Index("command_outbox_pending", "id", postgresql_where=text("delivered_at IS NULL")),
    )
    Table(
        "task_outbox",
        metadata,
        Column("seq", BigInteger, nullable=False, unique=True),
        Column("task_id", Text, primary_key=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=now),
        Column("published_at", DateTime(timezone=True)),
        Index("task_outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
    )


async def create_outbox_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        # Several processes may start at once against one database: serialise the DDL.
        await conn.execute(text("SELECT pg_advisory_xact_lock(7201956)"))
        for statement in DDL:
            await conn.execute(text(statement))
