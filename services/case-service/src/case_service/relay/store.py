"""The relay's own table, and reads of the notification log the library doesn't offer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from case_service.log_pages import page_in_order
from case_service.relay.wire import Row


class RelayStore:
    """`relay_position` (created by case_service/migrations): how far each relay has
    published, saved after the broker's acks."""

    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        self.recorder = recorder
        schema = Identifier(recorder.datastore.schema)
        table = SQL("{}.{}").format(schema, Identifier("relay_position"))
        events = SQL("{}.{}").format(schema, Identifier(recorder.events_table_name))
        self._select = SQL("SELECT position FROM {} WHERE name = %s").format(table)
        # Never move backwards, even if an old relay process wakes up late.
        self._upsert = SQL(
            "INSERT INTO {t} AS r (name, position) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE "
            "SET position = GREATEST(r.position, EXCLUDED.position), updated_at = now()"
        ).format(t=table)
        correlations = getattr(recorder, "correlation_table", None)
        # The relay's read: rows as tuples, each with its correlation id (in the event's row
        # or in `event_correlations`: CaseEventRecorder), in one round trip; the case id as
        # text, the form the envelope and the Kafka key take.
        self._rows = SQL(
            "SELECT e.notification_id, e.originator_id::text, e.originator_version, e.topic, e.state, "
            + ("COALESCE(e.correlation_id, c.correlation_id) " if correlations else "NULL ")
            + "FROM {} e "
            + (
                "LEFT JOIN {}.{} c ON c.originator_id = e.originator_id "
                "AND c.originator_version = e.originator_version "
                if correlations
                else ""
            )
            + page_in_order("e.notification_id", upto=True)
        ).format(events, *(correlations or ()))
        # The caught-up relay's read with the position of its previous range saved in the
        # same statement (a data-modifying WITH runs whether or not the SELECT reads it):
        # one round trip for both.
        self._saving_rows = SQL("WITH saved AS (") + self._upsert + SQL(") ") + self._rows
        self._case_events = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_id = %s AND originator_version > %s "
            "ORDER BY originator_version LIMIT %s"
        ).format(events)

    def position(self, name: str) -> int:
        with self.recorder.datastore.transaction(commit=False) as curs:
            curs.execute(self._select, (name,))
            row = curs.fetchone()
        return int(row["position"]) if row else 0

    def save_position(self, name: str, position: int) -> None:
        # One statement on the pool's autocommit connection (atomic by itself): no BEGIN and
        # COMMIT round trips around it. A caught-up relay saves after every few events.
        with self.recorder.datastore.get_connection() as conn:
            conn.execute(self._upsert, (name, position), prepare=True)

    def notifications_after(self, position: int, limit: int) -> Sequence[Notification]:
        found: Sequence[Notification] = self.recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False
        )
        return found

    def correlations(
        self, notifications: Sequence[Notification]
    ) -> dict[tuple[UUID | str, int], str]:
        recorder: Any = self.recorder
        if not hasattr(recorder, "correlations"):
            return {}
        found: dict[tuple[UUID | str, int], str] = recorder.correlations(
            [(n.originator_id, n.originator_version) for n in notifications]
        )
        return found

    def rows_between(self, after: int, upto: int, limit: int | None = None) -> list[Row]:
        """Rows with after < notification id <= upto, at most `limit` (every id up to the
        head is committed: the library's insert lock serialises writers, so no lower id
        appears later)."""
        datastore = self.recorder.datastore
        with (
            datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(self._rows, (after, upto, limit), prepare=True)
            return _rows(curs.fetchall())

    async def rows_between_on(
        self, conn: psycopg.AsyncConnection[Any], after: int, upto: int, limit: int | None
    ) -> list[Row]:
        """`rows_between` on the caller's own autocommit connection (the caught-up relay's)."""
        async with conn.cursor(row_factory=tuple_row, binary=True) as curs:
            await curs.execute(self._rows, (after, upto, limit), prepare=True)
            return _rows(await curs.fetchall())

    async def saving_rows_between_on(
        self,
        conn: psycopg.AsyncConnection[Any],
        name: str,
        position: int,
        after: int,
        upto: int,
        limit: int | None,
    ) -> list[Row]:
        """`save_position` of `position` and `rows_between_on` in one statement."""
        async with conn.cursor(row_factory=tuple_row, binary=True) as curs:
            await curs.execute(
                self._saving_rows, (name, position, after, upto, limit), prepare=True
            )
            return _rows(await curs.fetchall())

    async def save_position_on(
        self, conn: psycopg.AsyncConnection[Any], name: str, position: int
    ) -> None:
        """`save_position` on the caller's own autocommit connection."""
        await conn.execute(self._upsert, (name, position), prepare=True)

    def max_notification_id(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def case_notifications(
        self, case_id: UUID, after_version: int, limit: int
    ) -> list[Notification]:
        """One case's events after a version, with their global notification ids."""
        with self.recorder.datastore.transaction(commit=False) as curs:
            curs.execute(self._case_events, (case_id, after_version, limit))
            rows = curs.fetchall()
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]


def _rows(found: list[Any]) -> list[Row]:
    """Binary results are already the row's types (bigint int, text str, bytea bytes,
    text str): no conversion per row (half the read's Python time on a page of 10,000)."""
    if found and type(found[0][4]) is not bytes:  # a loader of another kind: convert
        return [(int(r[0]), str(r[1]), int(r[2]), r[3], bytes(r[4]), r[5]) for r in found]
    return found
