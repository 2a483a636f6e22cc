"""Appending a chunk's events with their chain columns and correlation ids: one transaction.

The same steps as the recorder's write path (the library's `insert_events` with our
additions in persistence.py), in the same transaction and order: take the store's insert
lock (the library's own `_lock_table` statements) and notify its channel; insert the events
(the version constraint refuses any event another writer recorded first, and with it the
whole transaction: IntegrityError, nothing written), each chained to its case's previous
hash with the statement's time as its recorded time, computed by the database in that
INSERT (audit/chain.py; the hash's one definition is audit/canonical.py, docs/audit.md);
and keep the request's correlation id beside each (in its row, the same statement).

What differs is how the rows travel. The library sends an array of a composite type, which
psycopg renders element by element in Python (a third of the CPU of a large file); here
the ids, versions and topics each go as one PostgreSQL array literal built by C-speed joins
(`uuid[]`, `bigint[]`, `text[]`), the states as one binary `bytea[]` (as hex text, writing,
escaping and parsing them cost the server and PostgreSQL a microsecond or more each per
event), and the INSERT answers one row (the notification
ids in the order sent, as text split in C), not a row decoded per event. Events written
here are read back by the library like any other: same table, same columns, same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Composable, Composed

from case_service.audit.chain import EventChain
from case_service.persistence import CaseEventRecorder, _text

# Events as columns, in order: case id texts, versions, topics, states.
Columns = tuple[list[str], list[int], list[str], list[bytes]]

# The append's answer: how many rows it inserted, and their notification ids in order.
_ANSWER = SQL(
    " SELECT count(*) AS inserted, "
    "string_agg(notification_id::text, ',' ORDER BY notification_id) AS ids FROM ins"
)
# An event's chain hash: from its stored previous hash (`p.prev`) and its canonical bytes.
CHAINED = "sha256(p.prev || {canonical})"


def one_per_case_insert(
    chain: EventChain, *, hash_sql: Composable | None = None, previous: bool = True
) -> Composed:
    """The append of a chunk where no case appears twice: each event chained to its stored
    previous hash (`previous`: read by the LATERAL join giving `p.prev`). Another `hash_sql`
    or `previous` is for bench/spine_bench.py, which weighs the chain's parts of this very
    statement; the store is only ever written with the defaults."""
    return (
        chain.part(
            "WITH ins AS (INSERT INTO {events} (originator_id, originator_version, topic, "
            "state, recorded_at, hash, correlation_id) SELECT i.originator_id, "
            "i.originator_version, i.topic, i.state, statement_timestamp(), "
        )
        + (chain.part(CHAINED) if hash_sql is None else hash_sql)
        + SQL(
            ", (SELECT %s::text) FROM unnest(%s::uuid[], %s::bigint[], %s::text[], "
            "%b::bytea[]) WITH ORDINALITY AS i(originator_id, originator_version, topic, "
            "state, ord)"
        )
        + (chain.previous() if previous else SQL(""))
        + SQL(" ORDER BY i.ord RETURNING notification_id)")
        + _ANSWER
    )


class ChunkAppender:
    def __init__(self, recorder: CaseEventRecorder) -> None:
        self._recorder = recorder
        chain = recorder.chain
        # Inserted in the order sent (ORDER BY ord), so notification ids rise with `ord`; the
        # request's correlation id (NULL: none) goes in each event's own row, not a row of
        # its own per event (a second insert and index entry, a tenth of PostgreSQL's CPU per
        # event: docs/benchmarks.md). Two statements: a chunk where no case appears twice
        # (one missed payment each, the usual file) is chained straight from the arrays,
        # each event to its stored previous hash, without the recursion, or a join of the
        # links back to the rows and its two sorts.
        self._insert_one_per_case = _text(one_per_case_insert(chain))
        self._insert = _text(
            chain.part(
                "WITH RECURSIVE correlation AS (SELECT %s::text AS id), "
                "input AS (SELECT * FROM unnest(%s::uuid[], %s::bigint[], "
                "%s::text[], %b::bytea[]) WITH ORDINALITY AS u(originator_id, "
                "originator_version, topic, state, ord)), "
            )
            + chain.links()
            + chain.part(
                ", ins AS (INSERT INTO {events} (originator_id, originator_version, topic, state, "
                "recorded_at, hash, correlation_id) SELECT i.originator_id, i.originator_version, "
                "i.topic, i.state, statement_timestamp(), l.hash, (SELECT id FROM correlation) "
                "FROM input i JOIN link l USING (ord) ORDER BY i.ord RETURNING notification_id)"
            )
            + _ANSWER
        )

    def append(self, events: Sequence[StoredEvent], correlation_id: str | None) -> list[int]:
        """Insert `events` (each case's in version order), chained, in this order of
        notification; their notification ids. IntegrityError, with nothing written, if
        another writer took any of their versions."""
        return self.append_columns(columns(events), correlation_id)

    def append_columns(self, events: Columns, correlation_id: str | None) -> list[int]:
        """The same for events given as columns (case id texts, versions, topics, states),
        as a worker sends them (prepared.py): no StoredEvent is built only to be read."""
        ids, versions, topics, states = events
        if not ids:
            return []
        recorder = self._recorder
        with recorder.datastore.transaction(commit=True) as curs:
            recorder._lock_table(curs)
            recorder._notify_channel(curs)
            one_per_case = len(set(ids)) == len(ids)
            statement = self._insert_one_per_case if one_per_case else self._insert
            # The states in binary: no hex to write, escape and parse.
            arrays = (_array(ids), _array(map(str, versions)), _array(map(_quoted, topics)))
            curs.execute(statement, (correlation_id, *arrays, states))
            row = curs.fetchone()
            assert row is not None  # an aggregate query answers one row
            if row["inserted"] != len(ids):
                raise RuntimeError(f"the store inserted {row['inserted']} of {len(ids)} events")
            return list(map(int, row["ids"].split(",")))


def columns(events: Sequence[StoredEvent]) -> Columns:
    """Events as the append's columns: case id texts, versions, topics, states."""
    ids = []
    case_id: object = None
    for e in events:
        if e.originator_id is not case_id:  # a case's events come together: one text each
            case_id, text = e.originator_id, str(e.originator_id)
        ids.append(text)
    return (
        ids,
        [e.originator_version for e in events],
        [e.topic for e in events],
        [e.state for e in events],
    )


def _array(elements: Iterable[str]) -> str:
    return "{" + ",".join(elements) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
