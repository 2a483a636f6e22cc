"""What a consumer has applied, kept in its own database next to its read models.

For events carrying `caseversion` (case events) one row per (consumer, subject) holds the
last version applied: every version up to it counts as processed, so the row is both the
idempotency record (an event id is derived from subject and version) and the gap detector.
Events without a version (tasks) are remembered by id in `consumer_processed_events`.
Both are written in the transaction that changes the read model.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.db import driver

# Frozen: each service's first migration runs these (see arrears.outbox.schema.DDL).
DDL = (
    "CREATE TABLE IF NOT EXISTS consumer_subject_versions ("
    " consumer text NOT NULL, subject text NOT NULL, version bigint NOT NULL,"
    " event_id text NOT NULL, sequence bigint,"
    " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, subject))",
    "CREATE TABLE IF NOT EXISTS consumer_processed_events ("
    " consumer text NOT NULL, event_id text NOT NULL,"
    " processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id))",
)


def tracking_tables(metadata: MetaData) -> None:
    """Describe the tracking tables in a service's metadata (as DDL creates them)."""
    now = text("now()")
    Table(
        "consumer_subject_versions",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("subject", Text, primary_key=True),
        Column("version", BigInteger, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("sequence", BigInteger),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=now),
    )
    Table(
        "consumer_processed_events",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Text, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=now),
    )


async def create_tracking_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        # Several services may start at once against one database: serialise the DDL.
        await conn.execute(text("SELECT pg_advisory_xact_lock(7201955)"))
        for statement in DDL:
            await conn.execute(text(statement))


_LOAD = (
    "SELECT subject, version FROM consumer_subject_versions "
    "WHERE consumer = $1 AND subject = ANY($2::text[]) ORDER BY subject FOR UPDATE"
)
_SAVE = (
    "INSERT INTO consumer_subject_versions AS v "
    "(consumer, subject, version, event_id, sequence) "
    "SELECT $1, s, ver, e, seq FROM unnest("
    "$2::text[], $3::bigint[], $4::text[], $5::bigint[]) AS t(s, ver, e, seq) "
    "ON CONFLICT (consumer, subject) DO UPDATE SET "
    "version = GREATEST(v.version, EXCLUDED.version), event_id = EXCLUDED.event_id, "
    "sequence = EXCLUDED.sequence, updated_at = now()"
)


async def load_versions(
    conn: AsyncConnection, consumer: str, subjects: Iterable[str]
) -> dict[str, int]:
    """Last applied version per subject, rows locked until the transaction ends."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    raw = await driver(conn)
    return {row[0]: int(row[1]) for row in await raw.fetch(_LOAD, consumer, wanted)}


async def save_versions(
    conn: AsyncConnection, consumer: str, rows: Iterable[tuple[str, int, str, int | None]]
) -> None:
    """Upsert (subject, version, event_id, sequence) rows; versions never go backwards."""
    batch = sorted(rows)
    if not batch:
        return
    raw = await driver(conn)
    await raw.execute(
        _SAVE,
        consumer,
        [r[0] for r in batch],
        [r[1] for r in batch],
        [r[2] for r in batch],
        [r[3] for r in batch],
    )


async def claim_event_id(conn: AsyncConnection, consumer: str, event_id: str) -> bool:
    """Record an unversioned event's id; False if it was processed before."""
    result = await conn.execute(
        text(
            "INSERT INTO consumer_processed_events (consumer, event_id) "
            "VALUES (:consumer, :event_id) ON CONFLICT DO NOTHING RETURNING event_id"
        ),
        {"consumer": consumer, "event_id": event_id},
    )
    return result.first() is not None


async def forget_consumer(conn: AsyncConnection, consumer: str) -> None:
    """Drop everything a consumer remembers (before a rebuild)."""
    for table in ("consumer_subject_versions", "consumer_processed_events"):
        await conn.execute(
            text(f"DELETE FROM {table} WHERE consumer = :consumer"),  # noqa: S608
            {"consumer": consumer},
        )
