"""The hash chain's table, written by the event recorder in the transaction of its events.

`event_hashes` (created by case_service/migrations) holds one row per stored event: its notification id, the database's time of
the writing transaction (the event's recorded time) and its chain hash (canonical.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import ProgrammingError, StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from case_service.audit.canonical import GENESIS, event_hash

TABLE = "event_hashes"
CHECKPOINTS = "audit_checkpoints"


class EventChain:
    """Writes the chain in the transaction of its events, at no round trip of its own.

    `insert_events(events_table)` is the events' INSERT, extended: the same statement returns
    each new event's notification id, its statement's time (the recorded time) and the hash
    of its case's previous event, looked up by primary key. The statement runs after the
    library's table lock, so recorded times rise with notification ids, and the previous
    hashes it reads are the committed ones (no cache to go stale under other writers). The
    hashes are then computed here (canonical.py, the one definition) and their rows inserted
    in the same pipeline, sent with the commit.
    """

    def __init__(self, schema: str) -> None:
        self._schema = schema
        self._table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
        self._insert = SQL(
            "INSERT INTO {} (originator_id, originator_version, notification_id, recorded_at, "
            "prev_hash, hash) SELECT i, v, n, %s, p, h FROM "
            "unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bytea[], %s::bytea[]) "
            "AS r(i, v, n, p, h)"
        ).format(self._table)
        self._select_times = SQL(
            "SELECT originator_version, recorded_at FROM {} WHERE originator_id = %s"
        ).format(self._table)
        self._select_version_at = SQL(
            "SELECT max(originator_version) AS version FROM {} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(self._table)

    def insert_events(self, events_table: str, stored_event_type: str) -> Composed:
        """The events' INSERT (as the library writes it) returning what the chain needs."""
        return SQL(
            "WITH ins AS (INSERT INTO {schema}.{events} (originator_id, originator_version, "
            "topic, state) SELECT originator_id, originator_version, topic, state "
            "FROM unnest(%s::{schema}.{type}[]) "
            "RETURNING originator_id, originator_version, notification_id) "
            "SELECT ins.originator_id, ins.originator_version, ins.notification_id, "
            "statement_timestamp() AS now, h.hash AS prev_hash FROM ins "
            "LEFT JOIN {chain} h ON h.originator_id = ins.originator_id "
            "AND h.originator_version = ins.originator_version - 1"
        ).format(
            schema=Identifier(self._schema),
            events=Identifier(events_table),
            type=Identifier(stored_event_type),
            chain=self._table,
        )

    def append(
        self, curs: Cursor[DictRow], events: Sequence[StoredEvent], rows: Sequence[DictRow]
    ) -> list[int]:
        """Chain `events` to their cases' hashes, from the rows `insert_events` returned; the
        notification ids in the order of `events`. The chain rows' INSERT is queued on the
        cursor, not waited for: it travels with the commit."""
        if len(rows) != len(events):
            raise ProgrammingError(f"inserted {len(rows)} events of {len(events)}")
        now: datetime = rows[0]["now"]
        found = {(row["originator_id"], row["originator_version"]): row for row in rows}
        last: dict[UUID, bytes] = {}
        columns: tuple[list[UUID], list[int], list[int], list[bytes], list[bytes]]
        columns = ([], [], [], [], [])
        ids: list[int] = []
        for event in events:
            row = found[(_uuid(event.originator_id), event.originator_version)]
            ids.append(row["notification_id"])
        for event in sorted(events, key=lambda e: e.originator_version):
            case_id = _uuid(event.originator_id)
            row = found[(case_id, event.originator_version)]
            prev = last.get(case_id)
            if prev is None:
                # A case whose earlier events predate the chain starts it here (docs/audit.md).
                stored = row["prev_hash"]
                prev = GENESIS if stored is None else bytes(stored)
            digest = event_hash(
                prev, case_id, event.originator_version, event.topic, event.state, now
            )
            last[case_id] = digest
            columns[0].append(case_id)
            columns[1].append(event.originator_version)
            columns[2].append(row["notification_id"])
            columns[3].append(prev)
            columns[4].append(digest)
        curs.execute(self._insert, (now, *columns), binary=True)
        return ids

    def recorded_times(self, curs: Cursor[DictRow], case_id: UUID) -> dict[int, datetime]:
        curs.execute(self._select_times, (case_id,))
        return {row["originator_version"]: row["recorded_at"] for row in curs.fetchall()}

    def version_recorded_by(self, curs: Cursor[DictRow], case_id: UUID, moment: datetime) -> int:
        """The case's last version recorded at or before `moment` (0: none)."""
        curs.execute(self._select_version_at, (case_id, moment))
        row = curs.fetchone()
        return int(row["version"]) if row and row["version"] is not None else 0


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
