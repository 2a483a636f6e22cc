"""A rebuild's page, folded in memory and written a table at a time (`python -m
contact_service rebuild`): the read model the consumer's event-by-event path leaves, with a
few statements a page instead of a few an event.

A rebuild is a case the consumer is not: the case tables start empty, nothing else writes
them meanwhile, and the whole page is known. So every event of the page still goes through
the projection's own handlers and `Projection.settle` (each recomputes what the consumer's
path recomputes, so versions, buckets, priorities and KPI keys come out the same), but on
the page's rows in memory; and the page ends with:

1. the contact points and zones of the cases it opened (one INSERT each);
2. the handlers' own statements, in the events' order (attempts, numbers added, promises
   resolved...: `store.Deferred`'s executemany runs);
3. the cases: those opened here by COPY, the changed columns of those read at the start
   (one executemany per set of columns);
4. the outcomes (bucket moves, payments, closures) and their KPI counters, one statement;
5. the cases' KPI deltas, summed per key, one statement.

An event whose handler writes through SQLAlchemy (a promise made, a lost contact's task,
an erasure) runs in place, after 1 and 2 are sent for what came before it. A case opened
here that the table already holds, or an outcome already recorded, makes a write fail:
the rebuild then applies the page again event by event (`Projection.handle`), which knows
what to skip; so does any other failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from arrears.messaging import Envelope, PoisonError
from arrears.messaging.envelope import case_event_type, with_data
from arrears.messaging.personal import SealedCopy
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.projections import kpi
from contact_service.projections.handlers import HANDLERS
from contact_service.projections.missed import LeanMissed
from contact_service.projections.opened import leaves_read
from contact_service.projections.projection import QUEUEABLE, Projection
from contact_service.projections.store import (
    CASE_COLUMNS,
    Deferred,
    Row,
    day_of,
    db_value,
    driver,
    fetch_cases,
    set_deferred,
    update_sql,
)

MISSED_TYPE = case_event_type("PaymentMissed")  # compared as is: no name derived from it
# A page's new contact points by COPY (an INSERT of arrays took three times the CPU): each as
# `store.new_point` makes it, never opted out yet (the column's default, migration 0006).
POINT_COLUMNS = ("case_id", "value", "party", "kind", "state", "position", "sealed", "masked")
_POINT = itemgetter(*POINT_COLUMNS)
INSERT_ZONES = (
    "INSERT INTO cs_zones (zone) SELECT DISTINCT z FROM unnest($1::text[]) AS z"
    " ON CONFLICT DO NOTHING"
)
# kpi.OUTCOME for a page's outcomes at once: the counters from the rows as stored (their
# amounts rounded to the column's cents, as OUTCOME's RETURNING hands them back).
INSERT_OUTCOMES = (
    "WITH o AS (INSERT INTO cs_outcomes (case_id, version, kind, on_date, from_bucket,"
    " to_bucket, amount, reason, strategy, arm)"
    " SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::date[], $5::text[],"
    " $6::text[], $7::numeric[], $8::text[], $9::text[], $10::text[])"
    " RETURNING kind, on_date, from_bucket, to_bucket, amount, reason, strategy, arm)"
    " INSERT INTO cs_kpi_deltas (measure, day, arm, strategy, k1, k2, n, amount)"
    " SELECT kind, on_date, coalesce(arm, ''), coalesce(strategy, ''),"
    " coalesce(from_bucket, reason, ''), coalesce(to_bucket, ''), count(*),"
    " sum(coalesce(amount, 0)) FROM o GROUP BY 1, 2, 3, 4, 5, 6"
)


class _Queue(Deferred):
    """The handlers' statements as a page holds them: outcomes set aside for one INSERT at
    the page's end (nothing else reads or writes cs_outcomes), the rest queued in order."""

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        self.outcomes: list[tuple[Any, ...]] = []

    async def execute(self, sql: str, *args: Any) -> None:
        if sql is kpi.OUTCOME:
            self.outcomes.append(args)
        else:
            self.queued.append((sql, args))


class _Page:
    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.queue = _Queue(raw)
        self.rows: dict[str, Row] = {}  # every case of the page, as it stands now
        self.stored: dict[str, Row] = {}  # the cases read at the start, as the table holds them
        self.opened: list[str] = []  # the cases opened here, in order
        self.points: list[Row] = []  # their contact points, not sent yet
        self.zones: dict[str, None] = {}  # the new cases' zones, each once, in order
        self.deltas: dict[tuple[Any, ...], int] = {}
        self.missed = LeanMissed()
        # Cases changed in place by missed installments, not ranked since (`PageFold.rank`):
        # the business day of the last.
        self.unranked: dict[str, date] = {}

    def open(self, row: Row, points: list[Row]) -> None:
        case_id = row["case_id"]
        self.rows[case_id] = row
        self.opened.append(case_id)
        self.points.extend(points)
        zones = self.zones
        zones[row["timezone"]] = None
        for zone in row["candidate_timezones"]:
            zones[zone] = None
        at = ("case", *kpi.case_key(row))  # `kpi.case_deltas(None, row)`: its one delta
        self.deltas[at] = self.deltas.get(at, 0) + 1

    def add(self, deltas: list[kpi.Delta]) -> None:
        for *key, n, _amount in deltas:  # a case's deltas carry no amount
            at = tuple(key)
            self.deltas[at] = self.deltas.get(at, 0) + n

    async def send_queued(self) -> None:
        """The new cases' points and zones, then the queued statements (what a handler
        writing through SQLAlchemy must find done before it runs)."""
        if self.points:
            points, self.points = self.points, []
            await self.raw.copy_records_to_table(
                "cs_contact_points", records=list(map(_POINT, points)), columns=POINT_COLUMNS
            )
        if self.zones:
            zones, self.zones = list(self.zones), {}
            await self.raw.execute(INSERT_ZONES, zones)
        await self.queue.flush()

    async def finish(self) -> None:
        await self.send_queued()
        if self.opened:
            rows = [self.rows[c] for c in self.opened]
            columns = _copied(rows)
            take = itemgetter(*columns)
            await self.raw.copy_records_to_table(
                "cs_cases",
                records=[(*take(row), _json(row["installments"])) for row in rows],
                columns=(*columns, "installments"),
            )
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for case_id, held in self.stored.items():
            row = self.rows[case_id]
            columns = tuple(sorted(k for k, v in row.items() if held.get(k) != v))
            if columns:
                values = (*(db_value(c, row[c]) for c in columns), case_id)
                by_columns.setdefault(columns, []).append(values)
        for columns, many in by_columns.items():
            await self.raw.executemany(update_sql(columns), many)
        if self.queue.outcomes:
            outcomes = self.queue.outcomes
            await self.raw.execute(INSERT_OUTCOMES, *(list(c) for c in zip(*outcomes, strict=True)))
        deltas = [(*key, n, Decimal(0)) for key, n in self.deltas.items() if n]
        if deltas:
            await self.raw.execute(kpi.ADD, *kpi.add_args(deltas))


# A new case's starting values that are the table's own defaults (migration 0006): a page's
# COPY leaves such a column out when every case it opened holds that value, and a column
# without a default (NULL) when every one holds None. asyncpg encodes a third fewer values
# (an empty list was about a microsecond a row).
STARTING: dict[str, Any] = {
    "candidate_timezones": [],
    "flags": [],
    "opted_out_channels": [],
    "open_complaints": [],
    "paid_total": Decimal(0),
    "promises_kept": 0,
    "promises_broken": 0,
    "in_dispute": False,
}
_LEFT_OUT_IF = tuple((c, STARTING.get(c)) for c in CASE_COLUMNS if c != "installments")


def _copied(rows: list[Row]) -> tuple[str, ...]:
    """The columns the page's new cases are copied with (the jsonb one apart)."""
    first, n = rows[0], len(rows)
    return tuple(
        column
        for column, default in _LEFT_OUT_IF
        if first[column] != default or list(map(itemgetter(column), rows)).count(default) != n
    )


def _json(installments: Any) -> str:
    """The jsonb column as the asyncpg codec SQLAlchemy installs takes it: JSON text."""
    return orjson.dumps(installments).decode()


class PageFold:
    """The rebuild's batch handler (`Applier.batch_handler`); its per-event handler stays
    `Projection.handle`, which the rebuild falls back to when a page fails."""

    def __init__(self, projection: Projection) -> None:
        self.projection = projection
        # Envelopes opened before their page is applied (`open_ahead`), by identity: the
        # sealed one, and the opened one the fold takes instead. What is never folded (a
        # duplicate, a page past the end) stays until the fold is dropped with its rebuild.
        self.ahead: dict[int, tuple[Envelope, Envelope]] = {}

    async def open_ahead(self, envelopes: Sequence[Envelope]) -> int:
        """A page's personal fields opened before it is applied (the rebuild's `prepare`,
        in the task fetching pages, so it overlaps the page before): each event's sealed
        values found in one walk, all their keys asked of case-service in batch reads,
        then opened. Returns how many events were opened."""
        keys = self.projection.keys
        if keys is None:
            return 0
        copies = [
            (e, SealedCopy(e.data, leaves_read(e.event_name))) for e in envelopes if e.personaldata
        ]
        copies = [(e, copy) for e, copy in copies if copy.places]
        await keys.prefetch(set().union(*(copy.key_ids for _, copy in copies)))
        for envelope, copy in copies:
            self.ahead[id(envelope)] = (envelope, with_data(envelope, await keys.open_copy(copy)))
        return len(copies)

    async def handle_batch(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        page = _Page(await driver(conn))
        # The cases whose first event here is not their opening: read as the table holds them.
        first: dict[str, Envelope] = {}
        for envelope in envelopes:
            subject = envelope.subject
            if subject is not None and subject not in first:
                first[subject] = envelope
        read = sorted(c for c, e in first.items() if e.event_name != "CaseOpened")
        if read:
            for found in await fetch_cases(conn, read):
                page.rows[found["case_id"]] = page.stored[found["case_id"]] = found
        set_deferred(conn, page.queue)  # the handlers' `driver(conn)` is the page's queue
        try:
            for envelope in envelopes:
                if not self._fold_missed(page, envelope):
                    await self._fold(conn, page, envelope)
            for case_id in list(page.unranked):
                self._rank(page, case_id)
            await page.finish()
        finally:
            set_deferred(conn, None)
            for envelope in envelopes:  # taken, or (the page failed) left to the fallback
                if envelope.personaldata:  # (only those are opened ahead)
                    self.ahead.pop(id(envelope), None)

    def _fold_missed(self, page: _Page, envelope: Envelope) -> bool:
        """A PaymentMissed of the usual shape as `_fold` folds it, without a coroutine or
        the handler's lookup (most of a rebuild's events); False, nothing changed, for
        anything else: `_fold` then folds it or names what is wrong."""
        if envelope.type != MISSED_TYPE or envelope.personaldata:
            return False
        case_id = envelope.subject
        before = page.rows.get(case_id)  # type: ignore[arg-type]  # (None: never a key)
        moment = envelope.time
        if before is None or moment is None or case_id is None:
            return False
        day = day_of(envelope)
        if before["status"] == "open" and before is not page.stored.get(case_id):
            # The page's own row, changed in place: a new installment always changes it,
            # and an open case's KPI key (status, opened_at, arm, strategy) stays, so the
            # copy and the comparison `_settle` makes would tell nothing (a fifth of the
            # event's fold). A row as the table holds it is copied first (`finish` writes
            # what differs from it); a closed case's key may move with the day.
            if not page.missed.grow(envelope.data, before, day):
                return False
            # The bucket follows each event's day (it keeps the day it was entered); the
            # rank, of the row alone, waits for the case's next other event or the page's end.
            self.projection.bucket(before, moment)
            self.projection.name_change(before, envelope)
            page.unranked[case_id] = day
            return True
        self._rank(page, case_id)
        row = dict(before)
        if not page.missed.apply(envelope.data, row, day):
            return False
        self._settle(page, case_id, row, before, day, envelope)
        return True

    def _rank(self, page: _Page, case_id: str) -> None:
        """The case's priority and blocked as its last missed installment left them (what
        `Projection.settle` would have set there), before anything compares or writes it."""
        day = page.unranked.pop(case_id, None)
        if day is not None:
            row = page.rows[case_id]
            page.missed.settle(row)
            self.projection.rank(row, day)

    def _settle(
        self, page: _Page, case_id: str, row: Row, before: Row, day: date, envelope: Envelope
    ) -> None:
        """The event's row settled (`Projection.settle`), its KPI deltas added, kept."""
        if self.projection.settle(row, before, day, envelope):
            deltas = kpi.case_deltas(before, row)
            if deltas:  # most changes keep the case's KPI key
                page.add(deltas)
        page.rows[case_id] = row

    async def _fold(self, conn: AsyncConnection, page: _Page, envelope: Envelope) -> None:
        """One event, as `Projection.handle` applies it, onto the page's rows."""
        projection = self.projection
        case_id = envelope.subject
        if case_id is None:
            raise PoisonError("a case event without a subject")
        if projection.keys is not None and envelope.personaldata:
            ahead = self.ahead.pop(id(envelope), None)
            if ahead is not None and ahead[0] is envelope:
                envelope = ahead[1]
            else:
                envelope = await projection.keys.open_envelope(
                    envelope, leaves_read(envelope.event_name)
                )
        name = envelope.event_name
        if name == "CaseOpened":
            if case_id not in page.rows:  # else opened already: nothing changes
                page.open(*projection.opened_case(envelope, case_id))
            return
        before = page.rows.get(case_id)
        if before is None:
            raise PoisonError(f"{name} for case {case_id}, which was never opened here")
        self._rank(page, case_id)
        row = dict(before)
        day = day_of(envelope)
        handler = HANDLERS.get(name)
        if name == "PaymentMissed" and page.missed.apply(envelope.data, row, day):
            pass  # read lean; else the typed handler below reads it or names what is wrong
        elif handler is not None:
            if name not in QUEUEABLE:  # it writes through SQLAlchemy: what came first, first
                await page.send_queued()
            for task in await handler(conn, envelope, row) or ():
                await projection.record(conn, task)
        self._settle(page, case_id, row, before, day, envelope)
