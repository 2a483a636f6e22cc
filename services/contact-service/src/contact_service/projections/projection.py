"""The projection: one case event at a time, inside the consumer's transaction.

`Projection.handle(conn, envelope)` runs with the tracking row written by `arrears.messaging`,
so each event changes the read model once. It loads the case row (once per transaction),
lets the event's handler change it, and writes back the changed columns with the derived
ones (priority, blocked) recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arrears.business_date import DEFAULT_BUSINESS_TIMEZONE
from arrears.events import EventDataError
from arrears.messaging import Envelope, PoisonError, event_time
from arrears.messaging.personal import SubjectKeyClient, sealed_key_ids
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.policy.profiles import Profile, profile_of_case
from contact_service.policy.strategy import StrategyBook
from contact_service.projections import kpi
from contact_service.projections.days import BusinessDays
from contact_service.projections.handlers import HANDLERS
from contact_service.projections.opened import leaves_read, read_opened
from contact_service.projections.store import (
    CASE_COLUMNS,
    OPEN_CASE,
    Deferred,
    Row,
    day_of,
    db_value,
    deferred_of,
    driver,
    fetch_cases,
    new_point,
    rows_of_this_transaction,
    set_deferred,
    update_sql,
)
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo
from contact_service.tasks import ContactTask, Emitter


class Projection:
    def __init__(
        self,
        book: StrategyBook,
        profile: Profile,
        emit: Emitter | None = None,
        business_zone: str = DEFAULT_BUSINESS_TIMEZONE,
        *,
        keys: SubjectKeyClient | None = None,
    ) -> None:
        self.book = book
        self.profile = profile
        self.emit = emit
        self.business_zone = business_zone  # the bank's calendar: buckets count its dates
        self.days = BusinessDays(business_zone)
        self.keys = keys  # opens sealed personal fields (numbers to dial); None: left sealed

    async def handle(self, conn: AsyncConnection, envelope: Envelope) -> None:
        name = envelope.event_name
        case_id = envelope.subject
        if case_id is None:
            raise PoisonError("a case event without a subject")
        if self.keys is not None:
            envelope = await self.keys.open_envelope(envelope, leaves_read(name))
        if name == "CaseOpened":
            await self._opened(conn, envelope, case_id)
            return
        rows = rows_of_this_transaction(conn)
        before = rows.get(case_id)
        if before is None:
            await _flush_deferred(conn)
            found = await fetch_cases(conn, [case_id])
            if not found:
                raise PoisonError(f"{name} for case {case_id}, which was never opened here")
            before = found[0]
        row = dict(before)
        handler = HANDLERS.get(name)
        tasks = await handler(conn, envelope, row) if handler is not None else None
        for task in tasks or ():
            await self.record(conn, task)
        await self.save(conn, row, before, day_of(envelope), envelope)
        rows[case_id] = row  # only once every statement of the event succeeded

    async def handle_batch(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        """The consumer's (and the rebuild's) fast path: the same changes as `handle` on each
        envelope in order, but the batch's cases read in one statement, each changed case
        written once at the end (one executemany per set of changed columns), and the
        handlers' own statements queued and sent as executemany runs (`store.Deferred`).
        Events whose handlers write through SQLAlchemy (CaseOpened, ContactLost's task,
        PromiseToPayMade, PersonalDataErased, any without a handler here) run with the queue
        and the cases written first, so every statement still runs in the events' order. If
        anything raises, the consumer rolls the batch back and applies it event by event
        through `handle`."""
        if self.keys is not None:  # the batch's new subjects' keys in one request, not one each
            await self.keys.prefetch(
                set().union(*(sealed_key_ids(e.data) for e in envelopes if e.personaldata))
            )
        rows = rows_of_this_transaction(conn)
        wanted = sorted({e.subject for e in envelopes if e.subject and e.subject not in rows})
        if wanted:
            for found in await fetch_cases(conn, wanted):
                rows[found["case_id"]] = found
        written = _written(conn)
        written.update({case_id: dict(row) for case_id, row in rows.items()})
        deferred = Deferred(await driver(conn))
        set_deferred(conn, deferred)
        try:
            for envelope in envelopes:
                if envelope.event_name in QUEUEABLE:
                    await self.handle(conn, envelope)
                    continue
                await self._write_batch(conn, deferred)
                await self.handle(conn, envelope)
                case_id = envelope.subject or ""
                if case_id in rows and case_id not in written:  # opened here
                    written[case_id] = dict(rows[case_id])
            await self._write_batch(conn, deferred)
        finally:
            set_deferred(conn, None)

    async def _write_batch(self, conn: AsyncConnection, deferred: Deferred) -> None:
        """Send the queued statements, then write each changed case: its columns that differ
        from what the table holds, one executemany per set of columns."""
        await deferred.flush()
        dirty = _dirty(conn)
        if not dirty:
            return
        rows, written = rows_of_this_transaction(conn), _written(conn)
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for case_id in sorted(dirty):
            row, held = rows[case_id], written[case_id]
            columns = tuple(sorted(k for k, v in row.items() if held.get(k) != v))
            if columns:
                values = (*(db_value(c, row[c]) for c in columns), case_id)
                by_columns.setdefault(columns, []).append(values)
            written[case_id] = dict(row)
        dirty.clear()
        for columns, many in by_columns.items():
            await deferred.raw.executemany(update_sql(columns), many)

    def bucket(self, row: Row, moment: datetime) -> None:
        """The stored bucket (what the queues filter on) follows days past due on the event's
        business date; reads derive it again for their own moment (derive.bucket)."""
        bucket = derive.bucket(row.get("oldest_due_on"), self.days.of(moment))
        if bucket != row.get("bucket"):
            row["bucket"], row["bucket_entered_on"] = bucket, moment.date()

    async def record(self, conn: AsyncConnection, task: ContactTask) -> None:
        """Record a task decided here and put it in the task outbox, once."""
        strategy = self.book.strategies.get(task.strategy)
        task = replace(task, strategy_version=strategy.version if strategy else 0)
        new = await repo.record_task(
            conn,
            {
                "task_id": task.task_id,
                "case_id": task.case_id,
                "task_type": task.task_type,
                "step": task.step,
                "channel": task.channel,
                "party": task.party,
                "strategy": task.strategy,
                "strategy_version": task.strategy_version,
                "arm": task.arm,
                "due_at": task.due_at,
                "run_date": task.due_at.date(),
                "created_at": task.due_at,
            },
        )
        if new and self.emit is not None:
            await self.emit(conn, task)

    def settle(self, row: Row, before: Row, day: date, envelope: Envelope) -> bool:
        """After an event's handler: the derived columns recomputed, and whether the row
        changed; if it did, `version` and `updated_at` name the event. (Rows hold every
        column, so comparing the dicts compares the columns.) The page fold of a rebuild
        (projections/fold.py) settles each event so."""
        self.derive(row, day, envelope)
        if row == before:
            return False
        self.name_change(row, envelope)
        return True

    def derive(self, row: Row, day: date, envelope: Envelope) -> None:
        """The derived columns (priority, blocked, bucket) recomputed after the event."""
        self.rank(row, day)
        self.bucket(row, event_time(envelope))

    def rank(self, row: Row, day: date) -> None:
        """Priority and blocked: of the row as it stands on `day`, whatever led to it (the
        page fold ranks a case's run of missed installments once, after its last)."""
        row["priority"] = derive.priority(row, day)
        row["blocked"] = derive.blocked(row, profile_of_case(row.get("jurisdiction"), self.profile))

    @staticmethod
    def name_change(row: Row, envelope: Envelope) -> None:
        """A changed row's `version` and `updated_at`: the event's."""
        row["version"] = envelope.caseversion or row["version"]
        row["updated_at"] = envelope.time or row["updated_at"]

    async def save(
        self, conn: AsyncConnection, row: Row, before: Row, day: date, envelope: Envelope
    ) -> None:
        """Write the changed columns; `version` and `updated_at` name the last change, so an
        event that changes nothing here (most contact attempts) costs no UPDATE."""
        if self.settle(row, before, day, envelope):
            changed = {k: v for k, v in row.items() if before.get(k) != v}
            changed["version"], changed["updated_at"] = row["version"], row["updated_at"]
            raw = await driver(conn)
            if isinstance(raw, Deferred):  # a batch: the case is written once, at its end
                _dirty(conn).add(row["case_id"])
            else:
                columns = tuple(sorted(changed))
                await raw.execute(
                    update_sql(columns),
                    *(db_value(c, changed[c]) for c in columns),
                    row["case_id"],
                )
            deltas = kpi.case_deltas(before, row)
            if deltas:  # the case closed or reopened, or a closed case changed on a new day
                await raw.execute(kpi.ADD, *kpi.add_args(deltas))

    def opened_case(self, envelope: Envelope, case_id: str) -> tuple[Row, list[Row]]:
        """A CaseOpened's case row (every column) and its contact points (one per number)."""
        try:
            data = read_opened(envelope.data)
        except EventDataError as exc:
            raise PoisonError(str(exc)) from exc
        borrower: Mapping[str, Any] = data.borrower
        assignment = self.book.assign(case_id, data.product)
        moment = event_time(envelope)
        timezone = str(borrower.get("timezone") or "Asia/Shanghai")
        candidates = borrower.get("candidate_timezones") or borrower.get("timezones") or []
        guarantors = data.guarantors
        points: list[Row] = []
        for phone in borrower.get("phones") or []:
            owner = str(phone.get("owner") or "borrower")
            points.append(
                new_point(case_id, phone["number"], owner, phone.get("kind"), len(points))
            )
        if borrower.get("email"):
            points.append(new_point(case_id, borrower["email"], "borrower", "email", len(points)))
        for guarantor in guarantors:
            for phone in guarantor.get("phones") or []:
                points.append(
                    new_point(case_id, phone["number"], "guarantor", "mobile", len(points))
                )
        parties = {p["party"] for p in points}
        parties.add("borrower")
        if guarantors:
            parties.add("guarantor")
        full = _NO_COLUMNS.copy()  # every column in the table's order, those not set None
        full.update(
            case_id=case_id,
            loan_id=data.loan_id,
            product=data.product,
            currency=data.currency,
            principal=data.principal,
            status="open",
            opened_at=moment,
            bucket="M0",
            bucket_entered_on=moment.date(),
            days_past_due=0,
            installments={},
            arrears=_ZERO,
            paid_total=_ZERO,
            timezone=timezone,
            jurisdiction=data.jurisdiction or None,
            candidate_timezones=[str(z) for z in candidates if z != timezone] if candidates else [],
            payday=int(borrower["payday"]) if borrower.get("payday") else None,
            address=sealing.seal(str(borrower["address"])) if borrower.get("address") else None,
            contactability="reachable",
            flags=[],
            opted_out_channels=[],
            in_dispute=False,
            open_complaints=[],
            parties=sorted(parties),
            promises_kept=0,
            promises_broken=0,
            strategy=assignment.strategy.name,
            arm=assignment.arm,
            version=envelope.caseversion or 1,
            updated_at=moment,
            blocked=False,
        )
        full["priority"] = derive.priority(full, moment.date())
        self.bucket(full, moment)
        unique = list({p["value"]: p for p in points}.values()) if len(points) > 1 else points
        return full, unique

    async def _opened(self, conn: AsyncConnection, envelope: Envelope, case_id: str) -> None:
        full, unique = self.opened_case(envelope, case_id)
        raw = await driver(conn)
        inserted = await raw.fetchval(
            OPEN_CASE,
            *(db_value(name, value) for name, value in full.items()),
            [p["value"] for p in unique],
            [p["party"] for p in unique],
            [p["kind"] for p in unique],
            [p["position"] for p in unique],
            full["timezone"],
            full["candidate_timezones"],
            [p["sealed"] for p in unique],
            [p["masked"] for p in unique],
        )
        if inserted:
            await raw.execute(kpi.ADD, *kpi.add_args(kpi.case_deltas(None, full)))
            rows_of_this_transaction(conn)[case_id] = full


# A new case's row before it is filled in: a copy updated with the columns set is the row in
# CASE_COLUMNS' order (a lookup of every column, one by one, cost twice as much).
_NO_COLUMNS: Row = dict.fromkeys(CASE_COLUMNS)
_ZERO = Decimal("0")  # (immutable: every new row may hold the one)

# Events whose handlers write only through the projection's driver (so a batch may queue
# their statements); every other event runs after the queue is sent.
QUEUEABLE = frozenset(HANDLERS) - {
    "CaseOpened",
    "ContactLost",
    "PromiseToPayMade",
    "PersonalDataErased",
}


def _info(conn: AsyncConnection, key: str, make: Any) -> Any:
    """A value held for `conn`'s current transaction (as `rows_of_this_transaction`)."""
    sync = conn.sync_connection
    assert sync is not None
    transaction = sync.get_transaction()
    held = sync.info.get(key)
    if held is None or held[0] is not transaction:
        held = (transaction, make())
        sync.info[key] = held
    return held[1]


async def _flush_deferred(conn: AsyncConnection) -> None:
    """Send a batch's queued statements before reading around them (as SQLAlchemy's reads
    were never queued, only the raw ones are ordered by hand)."""
    deferred = deferred_of(conn)
    if deferred is not None:
        await deferred.flush()


def _dirty(conn: AsyncConnection) -> set[str]:
    """Cases a batch changed and has not written yet."""
    found: set[str] = _info(conn, "contact_service.dirty", set)
    return found


def _written(conn: AsyncConnection) -> dict[str, Row]:
    """Each case of the batch as its table row stands."""
    found: dict[str, Row] = _info(conn, "contact_service.written", dict)
    return found
