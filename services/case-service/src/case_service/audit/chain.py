"""The hash chain, kept in the events' own rows and written by the statement inserting them.

Each chained event's row in the library's events table (`cases_events`) carries two more
columns: `recorded_at`, the time of the statement that wrote it (the event's recorded time,
the database's clock), and `hash`, its chain hash (canonical.py). The previous hash is the
previous version's `hash` (GENESIS for a case's first event, or one whose history predates
the chain), so it is not stored again. The columns are added to the library's CREATE TABLE
(`with_chain_columns`) and, for a table created before them, by the migration 0003.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import ProgrammingError, StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier

from case_service.audit.canonical import FORMAT_TAG, GENESIS

CHECKPOINTS = "audit_checkpoints"
# The chain's columns in the events table, as the library's CREATE TABLE gets them.
COLUMNS = "recorded_at timestamptz, hash bytea"
_AFTER = "notification_id bigserial, "


# The canonical bytes (canonical.canonical_bytes) spelled in SQL over an event row `i`, byte
# for byte; tests/integration/audit prove the two agree on every event they write. What is
# the same for every row is spelled once: the tag with its length and the fixed lengths of
# the id and the version as bytea constants, and the recorded time's field (the statement's
# time) as a sub-select run once per statement. Per row that leaves the fields that vary: a
# third of the expression's calls, and the per-row numeric arithmetic of the time
# (docs/benchmarks.md, 2026-12-06 09:07).
def _constant(data: bytes) -> str:
    return f"'\\x{data.hex()}'::bytea"


_FIELD = "int4send(octet_length({0})) || {0}"
_RECORDED = (  # its length, 8, then the time
    "(SELECT '\\x00000008'::bytea || "
    "int8send((extract(epoch FROM statement_timestamp()) * 1000000)::bigint))"
)
CANONICAL = " || ".join(
    (
        _constant(struct.pack(">I", len(FORMAT_TAG)) + FORMAT_TAG),
        _constant(struct.pack(">I", 16)) + " || uuid_send(i.originator_id)",
        _constant(struct.pack(">I", 8)) + " || int8send(i.originator_version)",
        _FIELD.format("convert_to(i.topic, 'UTF8')"),
        _FIELD.format("i.state"),
        _RECORDED,
    )
)
GENESIS_SQL = _constant(GENESIS)


def with_chain_columns(create_table: Composable, *, also: str = "") -> Composed:
    """The library's CREATE TABLE of the events, with the chain's columns (and `also`,
    further column definitions)."""
    text = create_table.as_string(None)
    if _AFTER not in text:
        raise ProgrammingError("the library's events table is not the one expected")
    columns = COLUMNS + (", " + also if also else "")
    return Composed([SQL(text.replace(_AFTER, _AFTER + columns + ", ", 1))])


class EventChain:
    """Writes the chain in the statement that inserts its events, at no round trip of its own.

    `insert_events` is the events' INSERT with the chain's two columns computed in it: the
    database links each new event to its case's previous hash, read by primary key in that
    statement (so the committed one, never a cache that could go stale under other
    writers). The statement runs after the library's table lock, so its time, the recorded
    time of all its events, rises with notification ids.
    """

    def __init__(self, schema: str, events_table: str) -> None:
        self._schema = schema
        self._events_table = events_table
        self._table = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
        self._select_times = SQL(
            "SELECT originator_version, recorded_at FROM {} "
            "WHERE originator_id = %s AND recorded_at IS NOT NULL"
        ).format(self._table)
        self._select_version_at = SQL(
            "SELECT max(originator_version) AS version FROM {} "
            "WHERE originator_id = %s AND recorded_at <= %s"
        ).format(self._table)
        # A new event's stored previous hash, by primary key, once per event (OFFSET 0 keeps
        # the subquery from being inlined into both uses): `p.prev` beside the event row `i`.
        self._previous = self.part(
            " CROSS JOIN LATERAL (SELECT COALESCE((SELECT h.hash FROM {events} h"
            " WHERE h.originator_id = i.originator_id"
            " AND h.originator_version = i.originator_version - 1), {genesis}) AS prev"
            " OFFSET 0) p"
        )

    def previous(self) -> Composed:
        """`p.prev`, the stored previous hash of the event row `i` (a LATERAL join to add
        after the row's FROM item)."""
        return self._previous

    def part(self, text: str) -> Composed:
        """`text` with {events} (the events table), {canonical} and {genesis} filled in."""
        return SQL(text).format(
            events=self._table, canonical=SQL(CANONICAL), genesis=SQL(GENESIS_SQL)
        )

    def links(self, *, one_per_case: bool = False) -> Composed:
        """A CTE `link(ord, hash)` over a CTE `input(originator_id, originator_version,
        topic, state, ord)`. Its cases may hold several events: a case's first event here
        chains to its stored previous hash, each later one to the one before it (the
        recursive part; needs WITH RECURSIVE). `one_per_case`: no case holds two, so every
        event chains to its stored previous hash, without the recursion."""
        first = (
            self.part(
                "link AS (SELECT i.ord, i.originator_id, i.originator_version,"
                " sha256(p.prev || {canonical}) AS hash FROM input i"
            )
            + self._previous
        )
        if one_per_case:
            return first + SQL(")")
        return first + self.part(
            " WHERE NOT EXISTS (SELECT 1 FROM input j"
            " WHERE j.originator_id = i.originator_id"
            " AND j.originator_version = i.originator_version - 1)"
            " UNION ALL"
            " SELECT i.ord, i.originator_id, i.originator_version, sha256(l.hash || {canonical})"
            " FROM link l JOIN input i ON i.originator_id = l.originator_id"
            " AND i.originator_version = l.originator_version + 1)"
        )

    def insert_events(self, *, one_per_case: bool = False) -> Composed:
        """The events' INSERT with their chain columns. Its parameters are the events'
        columns as four arrays (`columns`), the states in binary: the library's one array of
        a composite type goes as text, every state hex-escaped by the client and parsed back
        by the server, a cost that grew with the sealed (larger) states. Returns the new
        events' notification ids in the order of the arrays: the rows are inserted in that
        order (the unnest's, or ORDER BY its ordinality), as in the library's own INSERT.

        `one_per_case`: the same links for a batch holding at most one event of each case
        (a single request's, most of the writer's): each chains to its stored previous hash,
        so the recursion and the search for a previous event in the batch are left out. Its
        arrays sit behind sub-selects so the planner cannot see their length: a plan made
        for the actual values is then no cheaper than the generic one, which PostgreSQL
        keeps (otherwise it re-planned this statement on every execution)."""
        if one_per_case:
            return (
                self.part(
                    "INSERT INTO {events} (originator_id, originator_version, topic, state, "
                    "recorded_at, hash) SELECT i.originator_id, i.originator_version, i.topic, "
                    "i.state, statement_timestamp(), sha256(p.prev || {canonical}) FROM "
                    "unnest((SELECT %s::uuid[]), (SELECT %s::bigint[]), (SELECT %s::text[]), "
                    "(SELECT %b::bytea[])) AS i(originator_id, originator_version, topic, state)"
                )
                + self._previous
                + SQL(" RETURNING notification_id")
            )
        return (
            self.part(
                "WITH RECURSIVE input AS (SELECT * FROM unnest(%s::uuid[], %s::bigint[], "
                "%s::text[], %b::bytea[]) WITH ORDINALITY "
                "AS u(originator_id, originator_version, topic, state, ord)), "
            )
            + self.links()
            + self.part(
                " INSERT INTO {events} (originator_id, originator_version, topic, state, "
                "recorded_at, hash) SELECT i.originator_id, i.originator_version, i.topic, "
                "i.state, statement_timestamp(), l.hash FROM input i JOIN link l USING (ord) "
                "ORDER BY i.ord RETURNING notification_id"
            )
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

    def recorded_times(self, curs: Cursor[DictRow], case_id: UUID) -> dict[int, datetime]:
        curs.execute(self._select_times, (case_id,))
        return {row["originator_version"]: row["recorded_at"] for row in curs.fetchall()}

    def version_recorded_by(self, curs: Cursor[DictRow], case_id: UUID, moment: datetime) -> int:
        """The case's last version recorded at or before `moment` (0: none)."""
        curs.execute(self._select_version_at, (case_id, moment))
        row = curs.fetchone()
        return int(row["version"]) if row and row["version"] is not None else 0
