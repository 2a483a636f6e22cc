"""The event store's recorder, extended so an idempotency record commits with its events.

The library's `Application.save(*aggregates, **kwargs)` hands `kwargs` to the recorder's
`_insert_events`, inside the same transaction that inserts the stored events. We use that
hook to write `Idempotency-Key` responses atomically with the events they describe: a
retried request either finds its stored response or finds nothing was written.

The events' INSERT itself (under the library's table lock, so in notification order) chains
each event to its case's previous one and stamps it with the database's clock, in two more
columns of the events' own rows (case_service.audit.chain): see docs/audit.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Connection, Cursor, OperationalError
from psycopg.abc import Query
from psycopg.pq import ConnStatus
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composable, Identifier
from psycopg.types.json import Jsonb

from case_service.audit.chain import EventChain, with_chain_columns
from case_service.pii import keys as subject_keys

# A condition on an events row `e`: its case's id's lowest bit (its `int`'s) is `%(parity)s`.
_OF_PARITY = " AND get_byte(uuid_send(e.originator_id), 15) & 1 = %(parity)s::int"


def _text(statement: Query) -> bytes:
    """A statement's text, composed once: psycopg composes a `Composed` to bytes again on
    every execution (a third of a commit's fixed CPU on the writer, docs/benchmarks.md),
    while bytes go straight to its cache of parsed queries."""
    if isinstance(statement, bytes):
        return statement
    if isinstance(statement, str):
        return statement.encode()
    if isinstance(statement, Composable):
        return statement.as_bytes(None)
    raise TypeError(f"not a statement: {statement!r}")


def check_connection(conn: Connection[Any]) -> None:
    """The pool's check of a connection before lending it, without a round trip.

    The library's pre-ping (`POSTGRES_PRE_PING`) sends an empty query to the server: two
    round trips per command batch, one for its read and one for its commit. A server that
    ended the connection (a restart, `pg_terminate_backend`) has said so on the socket: a
    FATAL message, then end of file. Reading whatever has arrived, without waiting, finds
    that; the pool then drops the connection and lends another (or a new one)."""
    pgconn = conn.pgconn
    if conn.closed or pgconn.status != ConnStatus.OK:
        raise OperationalError("connection closed")
    for _ in range(2):  # the FATAL message, then the end of file behind it
        pgconn.consume_input()  # raises OperationalError once the server has gone
        pgconn.is_busy()  # parses what came
    if pgconn.status != ConnStatus.OK:
        raise OperationalError("connection closed by the server")


# The events table's column for the correlation id of the request that recorded the event,
# where it is kept in the event's row (the daily file's events).
CORRELATION_COLUMN = "correlation_id text"


def _version(record: StoredEvent) -> int:
    return record.originator_version


@dataclass(frozen=True)
class IdempotencyRecord:
    """The response a request with this key got, kept so a retry gets the same answer."""

    key: str
    scope: str
    request_hash: str
    status: int
    body: dict[str, Any]


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CaseEventRecorder(PostgresApplicationRecorder):
    """Application recorder that also stores idempotency records in the insert transaction."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        # The events table carries the chain's columns (audit/chain.py) and the correlation
        # column (below) when the library creates it; an older one gets them from
        # case_service/migrations (0003, 0004).
        index = self.create_table_statement_index
        self.sql_create_statements[index] = with_chain_columns(
            self.sql_create_statements[index], also=CORRELATION_COLUMN
        )
        # The pool checks each connection it lends without a round trip (not the pre-ping).
        datastore.pool._check = check_connection
        # Our own tables (these three and the checkpoints) are created by case_service/migrations
        # (their shape: case_service/schema.py); the library creates only its own.
        self.idempotency_table = Identifier(self.datastore.schema), Identifier("idempotency_keys")
        self._insert_idempotency = SQL(
            "INSERT INTO {}.{} (scope, key, request_hash, status, body) VALUES (%s, %s, %s, %s, %s)"
        ).format(*self.idempotency_table)
        self._insert_idempotency_rows = _text(
            SQL(
                "INSERT INTO {}.{} (scope, key, request_hash, status, body) SELECT * FROM "
                "unnest(%b::text[], %b::text[], %b::text[], %b::int[], %b::jsonb[])"
            ).format(*self.idempotency_table)
        )
        # Every case id, written with its first event: jobs walk the portfolio from here.
        self.case_index_table = Identifier(self.datastore.schema), Identifier("case_index")
        self._insert_case_ids = _text(
            SQL("INSERT INTO {}.{} (case_id) VALUES (%s)").format(*self.case_index_table)
        )
        self._select_case_ids = SQL(
            "SELECT case_id FROM {}.{} WHERE case_id > %s ORDER BY case_id LIMIT %s"
        ).format(*self.case_index_table)
        # The correlation id of the request that recorded each event, kept beside the event
        # (not in its encrypted state, nor in its hash) so the relay and the feed can carry
        # it on: in a row of `event_correlations` per event (the command writer's), or in the
        # event's own row, `correlation_id` (the daily file's, daily_file/append.py: no
        # second row and index entry per event). An event has one or the other.
        self.correlation_table = Identifier(self.datastore.schema), Identifier("event_correlations")
        self._insert_correlation_rows = _text(
            SQL(
                "INSERT INTO {}.{} (originator_id, originator_version, correlation_id) "
                "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[])"
            ).format(*self.correlation_table)
        )
        # Each event's by primary key, in its row else in `event_correlations` (sub-selects
        # the planner cannot turn into a join over either whole table, as for the keys below).
        self._select_correlations = SQL(
            "SELECT w.originator_id, w.originator_version, x.correlation_id "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS w(originator_id, originator_version) "
            "CROSS JOIN LATERAL (SELECT COALESCE("
            "(SELECT e.correlation_id FROM {schema}.{events} e WHERE e.originator_id = "
            "w.originator_id AND e.originator_version = w.originator_version), "
            "(SELECT c.correlation_id FROM {schema}.{correlations} c WHERE c.originator_id = "
            "w.originator_id AND c.originator_version = w.originator_version)"
            ") AS correlation_id OFFSET 0) x "
            "WHERE x.correlation_id IS NOT NULL"
        ).format(
            schema=Identifier(self.datastore.schema),
            events=Identifier(self.events_table_name),
            correlations=self.correlation_table[1],
        )
        self.chain = EventChain(self.datastore.schema, self.events_table_name)
        self._current: dict[str, bytes] = {}
        # The events after a notification id (when the highest is at most a limit of ids past
        # it), each case's id as 16 bytes, and the highest id, in one statement, so one
        # snapshot: the daily file's warm cases follow the store with it (daily_file/warm.py).
        # The events come in no set order (a sort of their states cost more than reading
        # them; warm.py takes them in any order). OFFSET 0 keeps the sub-select apart, so the
        # limit is checked once, not on every row; the range is bounded in the index
        # condition itself. Run unprepared: a generic plan of a range with unknown bounds
        # may scan the whole table. Both numbers cast to bigint: psycopg sends a small int as
        # a smallint, and two of them summed overflowed one (an after and a limit in the
        # thousands: a store of fewer than 32,768 events).
        tail = (
            "SELECT m.last, t.case_id, t.originator_version, t.topic, t.state"
            " FROM (SELECT COALESCE(max(notification_id), 0) AS last FROM {schema}.{events}) m"
            " LEFT JOIN LATERAL (SELECT uuid_send(e.originator_id) AS case_id,"
            " e.originator_version, e.topic, e.state FROM {schema}.{events} e"
            " WHERE e.notification_id > %(after)s::bigint"
            " AND e.notification_id <= %(after)s::bigint + %(limit)s::bigint"
            " AND m.last <= %(after)s::bigint + %(limit)s::bigint{parity} OFFSET 0) t ON true"
        )
        # The same, only the events of cases whose id's last bit (its `int`'s lowest) is
        # `parity`: a daily file worker only ever holds such cases (warm.py).
        self._select_tail, self._select_tail_of_parity = self._by_parity(tail)
        # The same, read in gaps: the ranges (after, up to] of ids in two arrays, each a
        # range scan of the notification id index (a nested loop over the gaps: OFFSET 0
        # keeps each gap's sub-select apart, else the planner joined a scan of the whole
        # table to the gaps), and the whole skipped unless the highest id is at most
        # `bound`. Ids between the gaps were examined already (warm.py, `confirm`).
        gaps = (
            "SELECT m.last, t.case_id, t.originator_version, t.topic, t.state"
            " FROM (SELECT COALESCE(max(notification_id), 0) AS last FROM {schema}.{events}) m"
            " LEFT JOIN LATERAL (SELECT e.case_id, e.originator_version, e.topic, e.state"
            " FROM unnest(%(afters)s::bigint[], %(uptos)s::bigint[]) AS g(after, upto)"
            " CROSS JOIN LATERAL (SELECT uuid_send(e.originator_id) AS case_id,"
            " e.originator_version, e.topic, e.state FROM {schema}.{events} e"
            " WHERE e.notification_id > g.after AND e.notification_id <= g.upto{parity}"
            " OFFSET 0) e"
            " WHERE m.last <= %(bound)s::bigint OFFSET 0) t ON true"
        )
        self._select_gaps, self._select_gaps_of_parity = self._by_parity(gaps)
        self._insert_chained = _text(self.chain.insert_events())
        self._insert_chained_one_per_case = _text(self.chain.insert_events(one_per_case=True))
        # The same INSERT without the chain (`chained = False`), the same columns as arrays.
        self._insert_unchained = _text(
            SQL(
                "INSERT INTO {}.{} (originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %b::bytea[]) "
                "RETURNING notification_id"
            ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        )
        self.subject_keys: subject_keys.SubjectKeys | None = None  # set by the application
        # Each key looked up by the primary key (a LATERAL sub-select the planner cannot
        # flatten, OFFSET 0): a join of the asked keys with the table let it choose a hash
        # join over a sequential scan of every key ever kept, 5.7 ms a batch of 500 on a
        # table of 28,000 keys in the full bench, growing with it (docs/benchmarks.md).
        self._select_idempotency = _text(
            SQL(
                "SELECT i.scope, i.key, i.request_hash, i.status, i.body "
                "FROM unnest(%b::text[], %b::text[]) AS c(scope, key) "
                "CROSS JOIN LATERAL (SELECT k.scope, k.key, k.request_hash, k.status, k.body "
                "FROM {}.{} k WHERE k.scope = c.scope AND k.key = c.key OFFSET 0) i"
            ).format(*self.idempotency_table)
        )
        # The library's table lock and NOTIFY, which it composes again on every commit.
        self.lock_table_statements = [_text(s) for s in self.lock_table_statements]
        self._notify = _text(SQL("NOTIFY {}").format(Identifier(self.channel_name)))

    def _insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        records: Sequence[IdempotencyRecord] = kwargs.get("idempotency", ())
        # One statement per table, whatever the number of rows (not a statement per row).
        if records:
            curs.execute(
                self._insert_idempotency_rows,
                (
                    [r.scope for r in records],
                    [r.key for r in records],
                    [r.request_hash for r in records],
                    [r.status for r in records],
                    [Jsonb(r.body) for r in records],
                ),
                prepare=True,
            )
        correlations: Sequence[tuple[UUID, int, str]] = kwargs.get("correlations", ())
        if correlations:
            curs.execute(
                self._insert_correlation_rows,
                tuple(list(column) for column in zip(*correlations, strict=True)),
                prepare=True,
            )
        new_cases = [(e.originator_id,) for e in stored_events if e.originator_version == 1]
        new_keys: Sequence[tuple[str, UUID, str, bytes]] = kwargs.get("new_subject_keys", ())
        if new_keys and self.subject_keys is not None:  # with the case ids, in one statement
            columns = [list(column) for column in zip(*new_keys, strict=True)]
            cases = [case_id for (case_id,) in new_cases]
            curs.execute(self.subject_keys.insert_with_cases, (*columns, cases), prepare=True)
        elif new_cases:
            curs.executemany(self._insert_case_ids, new_cases)
        super()._insert_events(curs, stored_events, **kwargs)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The data keys made for new cases' first events go in with them, and are cached
        only once that transaction committed (pii/keys.py)."""
        keys = self.subject_keys
        new_cases = [
            cast(UUID, e.originator_id) for e in stored_events if e.originator_version == 1
        ]
        new_keys = keys.take_pending(new_cases) if keys is not None and new_cases else []
        try:
            ids: Sequence[int] | None = super().insert_events(
                stored_events, new_subject_keys=new_keys, **kwargs
            )
        except BaseException:
            if keys is not None and new_keys:
                keys.abandoned(new_keys)
            raise
        if keys is not None and new_keys:
            keys.committed(new_keys)
        return ids

    # The chain (audit/chain.py): the events' INSERT also links them to their cases' chains,
    # in the one statement and the events' own rows, so the chain adds no round trip, no
    # statement and no row. `chained = False`: the same INSERT without the chain (benchmarks' "off").
    chained = True

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **_: Any,
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        if not self.chained:
            statement = self._insert_unchained
        elif len({e.originator_id for e in stored_events}) == len(stored_events):
            statement = self._insert_chained_one_per_case  # no case twice: no recursion needed
        else:
            statement = self._insert_chained
        curs.execute(statement, self.chain.columns(stored_events), prepare=True)

    def recorded_times(self, case_id: UUID) -> dict[int, datetime]:
        """When each of the case's events was recorded: the database's time (docs/audit.md)."""
        with self.datastore.transaction(commit=False) as curs:
            return self.chain.recorded_times(curs, case_id)

    def version_recorded_by(self, case_id: UUID, moment: datetime) -> int:
        with self.datastore.transaction(commit=False) as curs:
            return self.chain.version_recorded_by(curs, case_id, moment)

    def case_ids(self, after: UUID | None, limit: int) -> list[UUID]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self._select_case_ids, (after or UUID(int=0), limit))
            return [row["case_id"] for row in curs.fetchall()]

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self._notify, prepare=True)

    def _current_statement(self, snapshots_table: str) -> bytes:
        """What brings each case up to date: for a case known at a version (> 0), the events
        after it; for one not known (0), its latest snapshot, if any, then the events after
        that. Each case is looked up by its primary key (the LATERAL joins): a join of the
        wanted ids with the whole table let the planner hash-join over a sequential scan of
        every event ever stored, 18 ms a batch of 500 on a 40,000-event table and growing
        with it (docs/benchmarks.md). Rows come without an order: `_by_case` orders each
        case's by version (its snapshot's version is below its events')."""
        statement = self._current.get(snapshots_table)
        if statement is None:
            statement = self._current[snapshots_table] = _text(
                SQL(
                    "SELECT w.originator_id, x.originator_version, x.topic, x.state"
                    " FROM unnest(%(ids)b::uuid[], %(versions)b::bigint[]) AS w(originator_id, known)"
                    " LEFT JOIN LATERAL (SELECT s.originator_version, s.topic, s.state"
                    " FROM {schema}.{snapshots} s WHERE w.known = 0 AND s.originator_id = w.originator_id"
                    " ORDER BY s.originator_version DESC LIMIT 1) snap ON true"
                    " CROSS JOIN LATERAL ("
                    "SELECT snap.originator_version, snap.topic, snap.state"
                    " WHERE snap.originator_version IS NOT NULL"
                    " UNION ALL"
                    " SELECT e.originator_version, e.topic, e.state FROM {schema}.{events} e"
                    " WHERE e.originator_id = w.originator_id"
                    " AND e.originator_version > GREATEST(w.known, COALESCE(snap.originator_version, 0))"
                    ") x"
                ).format(
                    schema=Identifier(self.datastore.schema),
                    snapshots=Identifier(snapshots_table),
                    events=Identifier(self.events_table_name),
                )
            )
        return statement

    def read_batch(
        self,
        claims: Sequence[tuple[str, str]],
        known: dict[UUID, int],
        snapshots_table: str,
    ) -> tuple[dict[tuple[str, str], IdempotencyRecord], dict[UUID, list[StoredEvent]]]:
        """What the command writer needs for a batch, in one round trip (a pipeline, no
        transaction: each read is one statement): the idempotency records for `claims`; the
        records that bring each case of `known` up to date (`_current_statement`); and the
        data keys of the subjects of cases read cold, cached before their events are read."""
        keys = self.subject_keys
        cold = [case_id for case_id, version in known.items() if version == 0]
        cold = keys.uncached_cases(cold) if keys is not None and cold else []
        with self.datastore.get_connection() as conn:
            with conn.pipeline():
                idem = conn.cursor()
                if claims:
                    idem.execute(
                        self._select_idempotency,
                        ([scope for scope, _ in claims], [key for _, key in claims]),
                        prepare=True,
                    )
                current = conn.cursor(row_factory=tuple_row, binary=True)
                if known:
                    current.execute(
                        self._current_statement(snapshots_table),
                        {"ids": list(known), "versions": list(known.values())},
                        prepare=True,
                    )
                subjects = conn.cursor()
                if cold and keys is not None:
                    subjects.execute(keys.select_for_cases, (cold,))
            records = self._idempotency_records(idem.fetchall()) if claims else {}
            rows = current.fetchall() if known else []
            if cold and keys is not None:
                keys.remember_rows(subjects.fetchall())
        return records, self._by_case(rows)

    def select_current(
        self, known: dict[UUID, int], snapshots_table: str
    ) -> dict[UUID, list[StoredEvent]]:
        """The records that bring each case of `known` up to date (`_current_statement`), in
        one round trip, in order per case."""
        if not known:
            return {}
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(
                self._current_statement(snapshots_table),
                {"ids": list(known), "versions": list(known.values())},
                prepare=True,
            )
            return self._by_case(curs.fetchall())

    def _by_parity(self, text: str) -> tuple[bytes, bytes]:
        """A read of the events table (`text`, its {schema}, {events} and {parity} filled):
        for every case, and only for the cases whose id's lowest bit is `%(parity)s`."""
        every, one = (
            _text(
                SQL(text).format(
                    schema=Identifier(self.datastore.schema),
                    events=Identifier(self.events_table_name),
                    parity=SQL(parity),
                )
            )
            for parity in ("", _OF_PARITY)
        )
        return every, one

    def select_tail(
        self,
        after: int,
        limit: int,
        parity: int | None = None,
        examined: Sequence[tuple[int, int]] = (),
    ) -> tuple[list[tuple[Any, ...]] | None, int]:
        """The events after notification id `after`, in no set order, as rows (the highest
        notification id, case id's 16 bytes, version, topic, state: binary, as read), and
        the highest notification id (0: none); the events are None, not read, if that id is
        more than `limit` past `after`. Notification ids are committed in order (every
        insert takes the table's EXCLUSIVE lock), so none at or below the highest is left to
        appear later. `parity` (0 or 1): only the events of cases whose id's `int` has it as
        its lowest bit (the highest id is still the whole store's). `examined`: ranges of
        ids (first, last; above `after`, in order, apart) not read, nor counted in `limit`."""
        skipped = sum(last - first + 1 for first, last in examined)
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            if examined:
                statement = self._select_gaps if parity is None else self._select_gaps_of_parity
                bound = after + limit + skipped
                parameters: dict[str, Any] = {
                    "afters": [after, *(last for _, last in examined)],
                    "uptos": [*(first - 1 for first, _ in examined), bound],
                    "bound": bound,
                    "parity": parity,
                }
            else:
                statement = self._select_tail if parity is None else self._select_tail_of_parity
                parameters = {"after": after, "limit": limit, "parity": parity}
            curs.execute(statement, parameters, prepare=False)
            rows = curs.fetchall()
        last = int(rows[0][0])
        if last - after - skipped > limit:
            return None, last
        return (rows if rows[0][1] is not None else []), last

    @staticmethod
    def _by_case(rows: Sequence[tuple[Any, ...]]) -> dict[UUID, list[StoredEvent]]:
        """(case id, version, topic, state) rows (binary: a UUID, an int, a str, bytes) as
        each case's stored records in version order."""
        found: dict[UUID, list[StoredEvent]] = {}
        for case_id, version, topic, state in rows:
            found.setdefault(case_id, []).append(
                stored_event(
                    case_id, version, topic, state if type(state) is bytes else bytes(state)
                )
            )
        for records in found.values():
            if len(records) > 1:  # already in order as PostgreSQL returns them: linear
                records.sort(key=_version)
        return found

    def correlations(self, events: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        """The correlation ids recorded with these (case id, version) events, where any."""
        if not events:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._select_correlations,
                ([case_id for case_id, _ in events], [version for _, version in events]),
            )
            rows = curs.fetchall()
        return {
            (row["originator_id"], row["originator_version"]): row["correlation_id"] for row in rows
        }

    def find_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self.find_idempotency_many([(scope, key)]).get((scope, key))

    def find_idempotency_many(
        self, claims: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], IdempotencyRecord]:
        """The stored records for these (scope, key) pairs, in one round trip."""
        if not claims:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                self._select_idempotency,
                ([scope for scope, _ in claims], [key for _, key in claims]),
            )
            return self._idempotency_records(curs.fetchall())

    @staticmethod
    def _idempotency_records(
        rows: Sequence[DictRow],
    ) -> dict[tuple[str, str], IdempotencyRecord]:
        return {
            (row["scope"], row["key"]): IdempotencyRecord(
                key=row["key"],
                scope=row["scope"],
                request_hash=row["request_hash"],
                status=row["status"],
                body=row["body"],
            )
            for row in rows
        }

    def save_idempotency(self, record: IdempotencyRecord) -> bool:
        """Store a record for a request that recorded no event. False if the key was taken."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("{} ON CONFLICT DO NOTHING").format(self._insert_idempotency),
                (record.scope, record.key, record.request_hash, record.status, Jsonb(record.body)),
            )
            return curs.rowcount == 1


def stored_event(case_id: UUID, version: int, topic: str, state: bytes) -> StoredEvent:
    """`StoredEvent(case_id, version, topic, state)` without its frozen dataclass's
    `__init__` (an `object.__setattr__` per field, a third of the cost): the same fields in
    the same `__dict__`, so the same equality, hash and pickling."""
    event: StoredEvent = _new(StoredEvent)
    _set(
        event,
        "__dict__",
        {"originator_id": case_id, "originator_version": version, "topic": topic, "state": state},
    )
    return event


_new, _set = object.__new__, object.__setattr__
