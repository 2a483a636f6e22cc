"""Appending a chunk's events and their chain rows: one transaction, four statements.

The same steps as the recorder's write path (the library's `insert_events` with our
additions in persistence.py), in the same transaction and order: take the store's insert
lock (the library's own `_lock_table` statements) and notify its channel; insert the events
(the version constraint refuses any event another writer recorded first, and with it the
whole transaction: IntegrityError, nothing written); chain each event to its case's
previous hash with the statement's time as its recorded time (audit/canonical.py, the one
definition of the hash; docs/audit.md), and keep the request's correlation id beside each.

What differs is how the rows travel. The library sends an array of a composite type, which
psycopg renders element by element in Python (a third of the CPU of a large file); here
each column goes as one PostgreSQL array literal built by C-speed joins (`uuid[]`,
`bigint[]`, `text[]`, `bytea[]` in hex). The events' INSERT also returns what the chain
needs, in one row (the notification ids in the order sent, the statement's time, the
previous hash of each case's first event here), so the chain costs one more statement, not
a round trip per case, nor a row decoded per event. Events written here are
read back by the library like any other: same table, same columns, same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from case_service.audit.canonical import GENESIS, event_hash
from case_service.audit.chain import TABLE as CHAIN_TABLE
from case_service.persistence import CaseEventRecorder


class ChunkAppender:
    def __init__(self, recorder: CaseEventRecorder) -> None:
        self._recorder = recorder
        schema = Identifier(recorder.datastore.schema)
        chain = SQL("{}.{}").format(schema, Identifier(CHAIN_TABLE))
        # One row back, not one per event: the notification ids in the order sent (as text,
        # split in C), the statement's time once, and the previous chain hash of only those
        # events whose previous version is already chained (each case's first here).
        self._insert = SQL(
            "WITH input AS (SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], "
            "%s::bytea[]) WITH ORDINALITY AS u(originator_id, originator_version, topic, state, "
            "ord)), "
            "ins AS (INSERT INTO {schema}.{events} "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM input ORDER BY ord "
            "RETURNING originator_id, originator_version, notification_id) "
            "SELECT statement_timestamp() AS now, count(*) AS inserted, "
            "string_agg(ins.notification_id::text, ',' ORDER BY input.ord) AS ids, "
            "array_agg(input.ord) FILTER (WHERE h.hash IS NOT NULL) AS chained, "
            "array_agg(h.hash) FILTER (WHERE h.hash IS NOT NULL) AS prev_hashes "
            "FROM ins JOIN input USING (originator_id, originator_version) "
            "LEFT JOIN {chain} h ON h.originator_id = ins.originator_id "
            "AND h.originator_version = ins.originator_version - 1"
        ).format(schema=schema, events=Identifier(recorder.events_table_name), chain=chain)
        self._chain = SQL(
            "INSERT INTO {} (originator_id, originator_version, notification_id, recorded_at, "
            "prev_hash, hash) SELECT i, v, n, %s, p, h FROM "
            "unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::bytea[], %s::bytea[]) "
            "AS r(i, v, n, p, h)"
        ).format(chain)
        self._correlate = SQL(
            "INSERT INTO {}.{} (originator_id, originator_version, correlation_id) "
            "SELECT i, v, %s FROM unnest(%s::uuid[], %s::bigint[]) AS w(i, v)"
        ).format(*recorder.correlation_table)

    def append(self, events: Sequence[StoredEvent], correlation_id: str | None) -> list[int]:
        """Insert `events` (each case's in version order) with their chain rows, in this
        order of notification; their notification ids. IntegrityError, with nothing
        written, if another writer took any of their versions."""
        if not events:
            return []
        case_ids = _array(str(e.originator_id) for e in events)
        versions = _array(str(e.originator_version) for e in events)
        topics = _array(_quoted(e.topic) for e in events)
        recorder = self._recorder
        with recorder.datastore.transaction(commit=True) as curs:
            recorder._lock_table(curs)
            recorder._notify_channel(curs)
            curs.execute(self._insert, (case_ids, versions, topics, _bytea(events)))
            row = curs.fetchone()
            assert row is not None  # an aggregate query answers one row
            if row["inserted"] != len(events):
                raise RuntimeError(f"the store inserted {row['inserted']} of {len(events)} events")
            now: datetime = row["now"]
            ids = list(map(int, row["ids"].split(",")))
            chained = dict(zip(row["chained"] or [], row["prev_hashes"] or [], strict=True))
            prev_hashes, hashes = self._chained(events, chained, now)
            curs.execute(
                self._chain,
                (now, case_ids, versions, "{" + row["ids"] + "}", _hex(prev_hashes), _hex(hashes)),
            )
            if correlation_id is not None:
                curs.execute(self._correlate, (correlation_id, case_ids, versions))
        return ids

    @staticmethod
    def _chained(
        events: Sequence[StoredEvent], chained: dict[int, bytes], now: datetime
    ) -> tuple[list[bytes], list[bytes]]:
        """Each event's previous hash and its own; `chained`: by position (from 1), the
        stored previous hash of events whose previous version was chained before."""
        prev_hashes: list[bytes] = []
        hashes: list[bytes] = []
        last: dict[UUID, bytes] = {}
        for position, event in enumerate(events, start=1):
            case_id = _uuid(event.originator_id)
            prev = last.get(case_id)
            if prev is None:
                # A case whose earlier events predate the chain starts it here (docs/audit.md).
                stored = chained.get(position)
                prev = GENESIS if stored is None else bytes(stored)
            digest = event_hash(
                prev, case_id, event.originator_version, event.topic, event.state, now
            )
            last[case_id] = digest
            prev_hashes.append(prev)
            hashes.append(digest)
        return prev_hashes, hashes


def _array(elements: Iterable[str]) -> str:
    return "{" + ",".join(elements) + "}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hex(values: Iterable[bytes]) -> str:
    # bytea's hex input `\x...`, its backslash escaped for the array literal.
    return _array(f'"\\\\x{value.hex()}"' for value in values)


def _bytea(events: Sequence[StoredEvent]) -> str:
    return _hex(e.state for e in events)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
