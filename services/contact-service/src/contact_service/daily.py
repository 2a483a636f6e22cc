"""The daily run: every open case's strategy decides today's steps; each becomes a task.

Cases are read in batches by case id; each batch is one transaction that records the
tasks (`cs_tasks`, keyed by the stable task id) and puts the new ones in the task outbox.
A second run the same day, or a run restarted after a crash, decides the same ids and finds
them recorded: nothing is emitted twice. A task is due at the first instant the guard
permits the contact (never outside permitted hours); a step the guard forbids for good
(do-not-contact, wrong number, ...) is skipped.
"""

from __future__ import annotations

import logging
import time as clock_time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from arrears.business_date import business_date
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.context import Context
from contact_service.metrics import counted
from contact_service.policy import guard
from contact_service.policy import model as m
from contact_service.policy.strategy import Facts, Planned, Strategy, plan
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo
from contact_service.tasks import (
    DISPATCH_FIELD_VISIT,
    SCHEDULE_CALL,
    SEND_REMINDER,
    ContactTask,
    call_data,
    reminder_data,
    task_id,
)

log = logging.getLogger("contact_service.daily")
RUN_LOCK = 7201958
PHONE_KINDS = ("mobile", "home", "work")


@dataclass
class DailyReport:
    run_date: Any
    cases_seen: int = 0
    tasks_emitted: int = 0
    tasks_already_emitted: int = 0
    steps_forbidden: int = 0
    seconds: float = 0.0


async def run_daily(ctx: Context, *, stop_after_batches: int | None = None) -> DailyReport:
    """Run once for the clock's current day. `stop_after_batches` simulates a crash mid-run."""
    started = clock_time.perf_counter()
    now = ctx.clock.now()
    report = DailyReport(run_date=now.astimezone(UTC).date())
    async with ctx.engine.connect() as lock_conn:
        # One run at a time (a second waits, then finds everything already decided).
        await lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": RUN_LOCK})
        await lock_conn.commit()
        try:
            async with ctx.engine.begin() as conn:
                await repo.start_run(conn, report.run_date, now)
            after, batches = "", 0
            while True:
                async with ctx.engine.begin() as conn:
                    rows = await repo.open_cases_after(conn, after, ctx.settings.daily_run_batch)
                    if not rows:
                        break
                    await _batch(ctx, conn, rows, now, report)
                after = rows[-1]["case_id"]
                batches += 1
                if stop_after_batches is not None and batches >= stop_after_batches:
                    raise RuntimeError("daily run stopped (simulated crash)")
            async with ctx.engine.begin() as conn:
                await repo.compact_kpis(conn)  # the day's KPI deltas into the counters
            async with ctx.engine.begin() as conn:
                await repo.finish_run(
                    conn, report.run_date, ctx.clock.now(), report.cases_seen, report.tasks_emitted
                )
        finally:
            await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK})
            await lock_conn.commit()
    report.seconds = round(clock_time.perf_counter() - started, 3)
    log.info("daily run done", extra={"fields": vars(report) | {"run_date": str(report.run_date)}})
    return report


async def _batch(
    ctx: Context,
    conn: AsyncConnection,
    rows: list[dict[str, Any]],
    now: datetime,
    report: DailyReport,
) -> None:
    inputs = await repo.policy_inputs(conn, [r["case_id"] for r in rows], now)
    priorities = []
    for row in rows:
        report.cases_seen += 1
        today = guard.local_date(now, row["timezone"])
        priorities.append((row["case_id"], derive.priority(row, today)))
        got = inputs.get(row["case_id"])
        profile = ctx.profile_of(row.get("jurisdiction"))
        business_day = business_date(now, ctx.settings.business_timezone)
        current = derive.bucket(row["oldest_due_on"], business_day) != "M0"
        if got is None or not current or derive.blocked(row, profile):
            continue
        strategy = (
            ctx.book.strategies.get(row["strategy"])
            or ctx.book.assign(row["case_id"], row["product"]).strategy
        )
        facts = _facts(row, got.points)
        for planned in plan(strategy, facts, today):
            task = _task(ctx, row, got, strategy, planned, now)
            if task is None:
                report.steps_forbidden += 1
                continue
            if await repo.record_task(conn, _task_row(task, report.run_date, now)):
                if ctx.emit is not None:
                    await ctx.emit(conn, task)
                report.tasks_emitted += 1
            else:
                report.tasks_already_emitted += 1
    await repo.set_priorities(conn, priorities)


def _facts(row: dict[str, Any], points: list[dict[str, Any]]) -> Facts:
    return Facts(
        bucket=row["bucket"],
        bucket_entered_on=row["bucket_entered_on"],
        open_promise=row["open_promise_id"] is not None,
        last_right_party_contact=row["last_rpc_at"],
        contactability=row["contactability"],
        broken_promises=row["promises_broken"],
        risk_grade=row["risk_grade"],
        arrears=Decimal(row["arrears"]),
        parties=frozenset(row["parties"] or ()) | {p["party"] for p in points},
    )


def _candidates(planned: Planned, row: dict[str, Any], points: list[dict[str, Any]]) -> list[str]:
    channel, party = planned.step.channel, planned.step.party
    valid = [p for p in points if p["party"] == party and p["state"] == m.VALID]
    if channel == "call":
        return [_number(p) for p in valid if p["kind"] in PHONE_KINDS]
    if channel == "sms":
        return [_number(p) for p in valid if p["kind"] == "mobile"]
    if channel == "email":
        return [_number(p) for p in valid if p["kind"] == "email"]
    if channel == "app_push":
        return ["app"]
    return ["address"] if row.get("address") else []


def _number(point: dict[str, Any]) -> str:
    """The number to hand to the dialer: opened from its seal, only here (sealing.py)."""
    return sealing.unseal(point.get("sealed")) or str(point["value"])


def _task(
    ctx: Context,
    row: dict[str, Any],
    got: repo.PolicyInputs,
    strategy: Strategy,
    planned: Planned,
    now: datetime,
) -> ContactTask | None:
    step = planned.step
    profile = ctx.profile_of(row.get("jurisdiction"))
    best: tuple[datetime, str] | None = None
    for point in _candidates(planned, row, got.points):
        request = m.ContactRequest(step.party, step.channel, point, now)
        decision = counted(guard.decide(got.view, got.history, profile, request, now), "daily_run")
        due = now if decision.allowed else decision.next_allowed_at
        if due is not None and (best is None or due < best[0]):
            best = (due, point)
    if best is None:
        return None
    due_at, point = best
    common = {
        "task_id": task_id(row["case_id"], strategy.label, step.id, planned.occurrence),
        "case_id": row["case_id"],
        "due_at": due_at.astimezone(UTC),
        "step": step.id,
        "channel": step.channel,
        "party": step.party,
        "strategy": strategy.name,
        "strategy_version": strategy.version,
        "arm": row["arm"],
    }
    if step.action == SEND_REMINDER:
        data = reminder_data(
            channel=step.channel,
            template=step.template or "",
            contact_point=point if step.channel in {"sms", "email"} else None,
            address=sealing.unseal(row.get("address")) if step.channel == "letter" else None,
            currency=row["currency"],
            arrears=str(row["arrears"]),
            opt_out=profile.require_opt_out_notice,
        )
        return ContactTask(task_type=SEND_REMINDER, data=data, **common)
    if step.action == SCHEDULE_CALL:
        data = call_data(
            contact_point=point, not_after=_window_end(ctx, row, due_at), purpose="collect"
        )
        return ContactTask(task_type=SCHEDULE_CALL, data=data, **common)
    if step.action == DISPATCH_FIELD_VISIT:
        data = {
            "address": sealing.unseal(row.get("address")),
            "not_after": _iso(_window_end(ctx, row, due_at)),
        }
        return ContactTask(task_type=DISPATCH_FIELD_VISIT, data=data, **common)
    return ContactTask(task_type=step.action, data={"reason": "strategy"}, **common)


def _window_end(ctx: Context, row: dict[str, Any], due_at: datetime) -> datetime:
    """The end of the permitted window on the due day, in the borrower's zone."""
    tz = guard.zone(row["timezone"])
    day = due_at.astimezone(tz).date()
    profile = ctx.profile_of(row.get("jurisdiction"))
    end = datetime.combine(day, profile.latest, tzinfo=tz)
    if not profile.latest_inclusive:
        end -= timedelta(minutes=1)
    return end.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _task_row(task: ContactTask, run_date: Any, now: datetime) -> dict[str, Any]:
    return {
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
        "run_date": run_date,
        "created_at": now,
    }
