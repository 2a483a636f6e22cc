"""case-service's own tables beside the event store, described for its migrations.

The queries are psycopg SQL where they are used (persistence.py, audit/chain.py,
aging_days.py, relay/store.py); this module only says what the tables are, so that
case_service/migrations can create and change them and a test can compare the two.
The event store's own tables (`cases_events`, `cases_snapshots`) are the eventsourcing
library's: it creates them when the application starts (CREATE_TABLE), not the migrations.
The hash chain lives in two columns of the events table (audit/chain.py): the recorder adds
them to the library's CREATE TABLE, and the migration 0003 to a table created before them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

METADATA = MetaData()
_NOW = text("now()")

# The response each Idempotency-Key got, written with its events (persistence.py).
IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    METADATA,
    Column("scope", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
)

# Every case id, written with its first event: jobs walk the portfolio from here.
CASE_INDEX = Table("case_index", METADATA, Column("case_id", Uuid, primary_key=True))

# The correlation id of the request that recorded each event (not in its encrypted state).
EVENT_CORRELATIONS = Table(
    "event_correlations",
    METADATA,
    Column("originator_id", Uuid, primary_key=True),
    Column("originator_version", BigInteger, primary_key=True),
    Column("correlation_id", Text, nullable=False),
)

# Signed Merkle checkpoints of the whole store (checkpointer/).
AUDIT_CHECKPOINTS = Table(
    "audit_checkpoints",
    METADATA,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("last_notification_id", BigInteger, nullable=False),
    Column("root", LargeBinary, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("key_name", Text, nullable=False),
    Column("key_id", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
)

# The days the portfolio has been aged to (aging_days.py).
AGING_DAYS = Table(
    "aging_days",
    METADATA,
    Column("as_of", Date, primary_key=True),
    Column("ran_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
)

# How far each relay has published (relay/store.py).
RELAY_POSITION = Table(
    "relay_position",
    METADATA,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
)

# Each data subject's key, wrapped by the master key (case_service/pii/keys.py): erasure
# clears wrapped_key and stamps erased_at, which makes that subject's sealed fields unreadable.
SUBJECT_KEYS = Table(
    "subject_keys",
    METADATA,
    Column("subject_id", Text, primary_key=True),
    Column("case_id", Uuid, nullable=False, index=False),
    Column("role", Text, nullable=False),
    Column("wrapped_key", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_NOW),
    Column("erased_at", DateTime(timezone=True)),
)
Index("subject_keys_case_idx", SUBJECT_KEYS.c.case_id)
