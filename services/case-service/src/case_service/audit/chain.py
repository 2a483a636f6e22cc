"""The hash chain's table, written in the statement that inserts its events.

`event_hashes` (created by case_service/migrations) holds one row per stored event: its
notification id, the time of the statement that wrote it (the event's recorded time, the
database's clock) and its chain hash (canonical.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import ProgrammingError, StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

TABLE = "event_hashes"
CHECKPOINTS = "audit_checkpoints"


class EventChain:
    """Writes the chain in the statement that inserts its events, at no round trip of its own.

    `insert_events` is the events' INSERT, extended (writable CTEs): the database links each
    new event to its case's previous hash, read by primary key in that statement (so the
    committed one, never a cache that could go stale under other writers), and inserts the
    chain rows. The statement runs after the library's table lock, so its time, the recorded
    time of all its events, rises with notification ids.
    """

    def __init__(self, schema: str) -> None:
        self._schema = schema
        self._table = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
        self._select_times = SQL(
            "SELECT originator_version, recorded_at FROM {} WHERE originator_id = %s"
        ).format(self._table)
        self._select_version_at = SQL(
            "SELECT max(originator_version) AS version FROM {} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(self._table)

    def insert_events(self, events_table: str, *, one_per_case: bool = False) -> Composed:
        """The events' INSERT, chaining them in the same statement. Its parameters are the
        events' columns as four arrays (`columns`), the states in binary: the library's one
        array of a composite type goes as text, every state hex-escaped by the client and
        parsed back by the server, a cost that grew with the sealed (larger) states.

        The database computes each link with `sha256()` over the canonical bytes spelled in
        SQL below, byte for byte those of `canonical.canonical_bytes` (the verifiers' one
        definition; tests/integration/audit prove the two agree on every event they write):
        a case's first new event chains to its stored previous hash (by primary key; GENESIS
        for a case's first event, or one whose history predates the chain), each later one
        to the one before it (the recursive part). Returns each new event's case, version
        and notification id.

        `one_per_case`: the same links for a batch holding at most one event of each case
        (a single request's, most of the writer's): each chains to its stored previous hash,
        so the recursion and the search for a previous event in the batch are left out. Its
        arrays sit behind sub-selects so the planner cannot see their length: a plan made
        for the actual values is then no cheaper than the generic one, which PostgreSQL
        keeps (otherwise it re-planned this statement on every execution). A one-event
        transaction's database CPU fell by a quarter of the chain's share (docs/benchmarks.md)."""
        field = "int4send(octet_length({0})) || {0}"
        canonical = " || ".join(
            (
                field.format("convert_to('arrears.event.v1', 'UTF8')"),
                field.format("uuid_send(i.originator_id)"),
                field.format("int8send(i.originator_version)"),
                field.format("convert_to(i.topic, 'UTF8')"),
                field.format("i.state"),
                field.format(
                    "int8send((extract(epoch FROM statement_timestamp()) * 1000000)::bigint)"
                ),
            )
        )
        names = {
            "schema": Identifier(self._schema),
            "events": Identifier(events_table),
            "chain": self._table,
            "genesis": SQL("decode(repeat('00', 32), 'hex')"),
            "canonical": SQL(canonical),
        }

        def part(text: str) -> Composed:
            return SQL(text).format(**names)

        # The previous hash by primary key, once per event (OFFSET 0 keeps the subquery from
        # being inlined into both uses), whatever the size of the chain table.
        previous = part(
            " CROSS JOIN LATERAL (SELECT COALESCE((SELECT h.hash FROM {chain} h"
            "  WHERE h.originator_id = i.originator_id"
            "  AND h.originator_version = i.originator_version - 1), {genesis}) AS prev"
            "  OFFSET 0) p"
        )
        returning = part(
            " AS n(originator_id, originator_version, topic, state) "
            "RETURNING originator_id, originator_version, topic, state, notification_id), "
        )
        chained = part(
            "chained AS (INSERT INTO {chain} (originator_id, originator_version, "
            "notification_id, recorded_at, prev_hash, hash) SELECT originator_id, "
            "originator_version, notification_id, statement_timestamp(), prev, hash FROM link) "
            "SELECT originator_id, originator_version, notification_id FROM ins"
        )
        link = part(
            "link AS ("
            " SELECT i.originator_id, i.originator_version, i.notification_id, p.prev,"
            " sha256(p.prev || {canonical}) AS hash FROM ins i"
        )
        if one_per_case:
            return (
                part(
                    "WITH ins AS (INSERT INTO {schema}.{events} (originator_id, "
                    "originator_version, topic, state) SELECT originator_id, "
                    "originator_version, topic, state FROM unnest((SELECT %s::uuid[]), "
                    "(SELECT %s::bigint[]), (SELECT %s::text[]), (SELECT %b::bytea[]))"
                )
                + returning
                + link
                + previous
                + SQL("), ")
                + chained
            )
        return (
            part(
                "WITH RECURSIVE ins AS (INSERT INTO {schema}.{events} (originator_id, "
                "originator_version, topic, state) SELECT originator_id, originator_version, "
                "topic, state FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %b::bytea[])"
            )
            + returning
            + link
            + previous
            + part(
                " WHERE NOT EXISTS (SELECT 1 FROM ins j WHERE j.originator_id = i.originator_id"
                "  AND j.originator_version = i.originator_version - 1)"
                " UNION ALL"
                " SELECT i.originator_id, i.originator_version, i.notification_id, l.hash,"
                " sha256(l.hash || {canonical})"
                " FROM link l JOIN ins i ON i.originator_id = l.originator_id"
                "  AND i.originator_version = l.originator_version + 1), "
            )
            + chained
        )

    @staticmethod
    def columns(
        events: Sequence[StoredEvent],
    ) -> tuple[list[UUID | str], list[int], list[str], list[bytes]]:
        """`insert_events`' parameters: the events' four columns."""
        return (
            [e.originator_id for e in events],
            [e.originator_version for e in events],
            [e.topic for e in events],
            [e.state for e in events],
        )

    @staticmethod
    def notification_ids(events: Sequence[StoredEvent], rows: Sequence[DictRow]) -> list[int]:
        """The notification ids `insert_events` returned, in the order of `events`."""
        if len(rows) != len(events):
            raise ProgrammingError(f"inserted {len(rows)} events of {len(events)}")
        found = {(row["originator_id"], row["originator_version"]): row for row in rows}
        return [
            found[(_uuid(e.originator_id), e.originator_version)]["notification_id"] for e in events
        ]

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
