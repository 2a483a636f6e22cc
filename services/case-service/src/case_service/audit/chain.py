"""The hash chain's table, written by the event recorder in the transaction of its events.

`event_hashes` (created by case_service/migrations) holds one row per stored event: its notification id, the database's time of
the writing transaction (the event's recorded time) and its chain hash (canonical.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from case_service.audit.canonical import GENESIS, event_hash

TABLE = "event_hashes"
CHECKPOINTS = "audit_checkpoints"


class EventChain:
    def __init__(self, schema: str) -> None:
        table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
        # statement_timestamp(): this statement runs after the insert, under the table lock,
        # so recorded times rise with notification ids. The previous hashes are looked up
        # by primary key; the first row always comes, for the time.
        self._prepare = SQL(
            "SELECT statement_timestamp() AS now, h.originator_id, h.hash FROM (SELECT 1) one "
            "LEFT JOIN (unnest(%s::uuid[], %s::bigint[]) AS w(originator_id, originator_version)"
            " JOIN {} h USING (originator_id, originator_version)) ON true"
        ).format(table)
        self._insert = SQL(
            "INSERT INTO {} (originator_id, originator_version, notification_id, recorded_at, "
            "prev_hash, hash) SELECT i, v, n, %s, p, h FROM "
            "unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bytea[], %s::bytea[]) "
            "AS r(i, v, n, p, h)"
        ).format(table)
        self._select_times = SQL(
            "SELECT originator_version, recorded_at FROM {} WHERE originator_id = %s"
        ).format(table)
        self._select_version_at = SQL(
            "SELECT max(originator_version) AS version FROM {} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(table)

    def append(
        self, curs: Cursor[DictRow], events: Sequence[StoredEvent], ids: Sequence[int]
    ) -> None:
        """Chain `events` (just inserted with notification `ids`) to their cases' hashes."""
        first: dict[UUID, int] = {}
        for event in events:
            case_id = _uuid(event.originator_id)
            first[case_id] = min(
                first.get(case_id, event.originator_version), event.originator_version
            )
        before = [(case_id, version - 1) for case_id, version in first.items() if version > 1]
        curs.execute(self._prepare, ([c for c, _ in before], [v for _, v in before]))
        rows = curs.fetchall()
        now: datetime = rows[0]["now"]
        last = {row["originator_id"]: bytes(row["hash"]) for row in rows if row["originator_id"]}
        ordered = sorted(zip(events, ids, strict=True), key=lambda p: p[0].originator_version)
        columns: tuple[list[UUID], list[int], list[int], list[bytes], list[bytes]]
        columns = ([], [], [], [], [])
        for event, notification_id in ordered:
            case_id = _uuid(event.originator_id)
            # A case whose earlier events predate the chain starts it here (docs/audit.md).
            prev = last.get(case_id, GENESIS)
            digest = event_hash(
                prev, case_id, event.originator_version, event.topic, event.state, now
            )
            last[case_id] = digest
            for column, value in zip(
                columns,
                (case_id, event.originator_version, notification_id, prev, digest),
                strict=True,
            ):
                column.append(value)  # type: ignore[attr-defined]
        curs.execute(self._insert, (now, *columns))

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
