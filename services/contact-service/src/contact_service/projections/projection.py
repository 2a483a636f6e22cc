"""The projection: one case event at a time, inside the consumer's transaction.

`Projection.handle(conn, envelope)` runs with the tracking row written by `arrears.messaging`,
so each event changes the read model once. It loads the case row (once per transaction),
lets the event's handler change it, and writes back the changed columns with the derived
ones (priority, blocked) recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arrears.business_date import DEFAULT_BUSINESS_TIMEZONE, business_date
from arrears.events import EventDataError
from arrears.events import catalogue as ev
from arrears.messaging import Envelope, PoisonError, event_time
from arrears.messaging.personal import SubjectKeyClient
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.policy.profiles import Profile, profile_of_case
from contact_service.policy.strategy import StrategyBook
from contact_service.projections import kpi
from contact_service.projections.handlers import HANDLERS
from contact_service.projections.store import (
    CASE_FOR_UPDATE,
    OPEN_CASE,
    Row,
    day_of,
    db_value,
    driver,
    new_point,
    rows_of_this_transaction,
    update_sql,
)
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo
from contact_service.readmodel.tables import CASES
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
        self.keys = keys  # opens sealed personal fields (numbers to dial); None: left sealed

    async def handle(self, conn: AsyncConnection, envelope: Envelope) -> None:
        name = envelope.event_name
        case_id = envelope.subject
        if case_id is None:
            raise PoisonError("a case event without a subject")
        if self.keys is not None:
            envelope = await self.keys.open_envelope(envelope)
        if name == "CaseOpened":
            await self._opened(conn, envelope, case_id)
            return
        rows = rows_of_this_transaction(conn)
        before = rows.get(case_id)
        if before is None:
            result = await conn.execute(CASE_FOR_UPDATE, {"case_id": case_id})
            found = result.mappings().first()
            if found is None:
                raise PoisonError(f"{name} for case {case_id}, which was never opened here")
            before = dict(found)
        row = dict(before)
        handler = HANDLERS.get(name)
        tasks = await handler(conn, envelope, row) if handler is not None else None
        for task in tasks or ():
            await self.record(conn, task)
        await self.save(conn, row, before, day_of(envelope), envelope)
        rows[case_id] = row  # only once every statement of the event succeeded

    def _bucket(self, row: Row, moment: datetime) -> None:
        """The stored bucket (what the queues filter on) follows days past due on the event's
        business date; reads derive it again for their own moment (derive.bucket)."""
        bucket = derive.bucket(row.get("oldest_due_on"), business_date(moment, self.business_zone))
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

    async def save(
        self, conn: AsyncConnection, row: Row, before: Row, day: date, envelope: Envelope
    ) -> None:
        """Write the changed columns; `version` and `updated_at` name the last change, so an
        event that changes nothing here (most contact attempts) costs no UPDATE."""
        row["priority"] = derive.priority(row, day)
        row["blocked"] = derive.blocked(row, profile_of_case(row.get("jurisdiction"), self.profile))
        self._bucket(row, event_time(envelope))
        changed = {k: v for k, v in row.items() if before.get(k) != v}
        if changed:
            row["version"] = changed["version"] = envelope.caseversion or row["version"]
            row["updated_at"] = changed["updated_at"] = envelope.time or row["updated_at"]
            columns = tuple(sorted(changed))
            raw = await driver(conn)
            await raw.execute(
                update_sql(columns), *(db_value(c, changed[c]) for c in columns), row["case_id"]
            )
            deltas = kpi.case_deltas(before, row)
            if deltas:  # the case closed or reopened, or a closed case changed on a new day
                await raw.execute(kpi.ADD, *kpi.add_args(deltas))

    async def _opened(self, conn: AsyncConnection, envelope: Envelope, case_id: str) -> None:
        try:
            data = ev.CaseOpened.read(envelope.data)
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
        parties = sorted(
            {p["party"] for p in points} | {"borrower"} | ({"guarantor"} if guarantors else set())
        )
        row: Row = {
            "case_id": case_id,
            "loan_id": data.loan_id,
            "product": data.product,
            "currency": data.currency,
            "principal": data.principal,
            "status": "open",
            "opened_at": moment,
            "bucket": "M0",
            "bucket_entered_on": moment.date(),
            "days_past_due": 0,
            "installments": {},
            "arrears": Decimal("0"),
            "paid_total": Decimal("0"),
            "timezone": timezone,
            "jurisdiction": data.jurisdiction or None,
            "candidate_timezones": [str(z) for z in candidates if z != timezone],
            "payday": int(borrower["payday"]) if borrower.get("payday") else None,
            "address": sealing.seal(str(borrower["address"])) if borrower.get("address") else None,
            "contactability": "reachable",
            "flags": [],
            "opted_out_channels": [],
            "in_dispute": False,
            "open_complaints": [],
            "parties": parties,
            "promises_kept": 0,
            "promises_broken": 0,
            "strategy": assignment.strategy.name,
            "arm": assignment.arm,
            "version": envelope.caseversion or 1,
            "updated_at": moment,
        }
        row["priority"] = derive.priority(row, moment.date())
        row["blocked"] = False
        self._bucket(row, moment)
        full = {c.name: row.get(c.name) for c in CASES.c}
        unique = list({p["value"]: p for p in points}.values())
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
