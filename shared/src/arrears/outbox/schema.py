"""The outbox tables, created idempotently at a service's start."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def create_outbox_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        # Several processes may start at once against one database: serialise the DDL.
        await conn.execute(text("SELECT pg_advisory_xact_lock(7201956)"))
        for statement in DDL:
            await conn.execute(text(statement))
