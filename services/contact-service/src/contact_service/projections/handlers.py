"""Case events -> contact-service read models: one small function per event type."""

# Every handler has the same signature; not each uses every argument.
# ruff: noqa: ARG001

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arrears.events import catalogue as ev
from arrears.messaging import Envelope, event_time
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy import model as m
from contact_service.projections import kpi
from contact_service.projections.erasure import personal_data_erased
from contact_service.projections.reach import REACH_HANDLERS
from contact_service.projections.store import (
    Handler,
    Row,
    day_of,
    driver,
    fingerprint,
    typed,
)
from contact_service.readmodel import derive
from contact_service.readmodel.tables import PROMISES
from contact_service.tasks import SKIP_TRACE, ContactTask, task_id

# A complaint's category that is really a restriction on contact.
COMPLAINT_FLAGS = {
    "do_not_contact": m.FLAG_DO_NOT_CONTACT,
    "cease_communication": m.FLAG_CEASE,
    "attorney": m.FLAG_ATTORNEY,
    "deceased": m.FLAG_DECEASED,
    "bankrupt": m.FLAG_BANKRUPT,
    "workplace_forbidden": m.FLAG_WORKPLACE_FORBIDDEN,
}
POINT_STATE_AFTER = {
    "wrong_number": m.WRONG_NUMBER,
    "disconnected": m.UNREACHABLE,
    "right_party_contact": m.VALID,
}

# --- money ---------------------------------------------------------------------------


def _recompute(row: Row, day: date) -> None:
    row["arrears"], row["oldest_due_on"] = derive.arrears_and_oldest(row["installments"], day)
    row["days_past_due"] = derive.days_past_due(row["oldest_due_on"], day)


async def payment_missed(conn: AsyncConnection, e: Envelope, row: Row, d: ev.PaymentMissed) -> None:
    installments = dict(row["installments"])
    installments[str(d.installment)] = missed_installment(d.due_date, d.amount)
    row["installments"] = installments
    _recompute(row, day_of(e))


def missed_installment(due_date: date, amount: Decimal) -> dict[str, Any]:
    """A missed installment as the case row keeps it (also `missed.LeanMissed`'s)."""
    return {
        "due_date": due_date.isoformat(),
        "amount": str(amount),
        "paid": "0",
        "superseded": False,
    }


async def payment_received(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.PaymentReceived
) -> None:
    installments = {k: dict(v) for k, v in row["installments"].items()}
    for part in d.allocations:
        item = installments.get(str(part["installment"]))
        if item is not None:
            item["paid"] = str(Decimal(item["paid"]) + Decimal(str(part["amount"])))
    row["installments"] = installments
    row["paid_total"] = Decimal(row["paid_total"]) + d.amount
    _recompute(row, day_of(e))
    await _outcome(conn, e, row, "payment", amount=d.amount)


async def plan_agreed(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.PaymentPlanAgreed
) -> None:
    installments = {k: dict(v) for k, v in row["installments"].items()}
    for key in d.superseded:
        if key in installments:
            installments[key]["superseded"] = True
    for item in d.installments:
        installments[f"P{d.plan_number}-{item['number']}"] = {
            "due_date": str(item["due_date"]),
            "amount": str(item["amount"]),
            "paid": "0",
            "superseded": False,
        }
    row["installments"] = installments
    _recompute(row, day_of(e))


async def _outcome(conn: AsyncConnection, e: Envelope, row: Row, kind: str, **values: Any) -> None:
    raw = await driver(conn)
    await raw.execute(
        _OUTCOME,
        row["case_id"],
        e.caseversion or 0,
        kind,
        day_of(e),
        values.get("from_bucket"),
        values.get("to_bucket"),
        values.get("amount"),
        values.get("reason"),
        row["strategy"],
        row["arm"],
    )


_OUTCOME = kpi.OUTCOME  # the outcome and its KPI counter


# --- aging and risk --------------------------------------------------------------------


async def bucket_changed(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.DelinquencyBucketChanged
) -> None:
    row["bucket"] = d.to_bucket
    row["bucket_entered_on"] = d.as_of
    row["days_past_due"] = d.days_past_due
    await _outcome(conn, e, row, "bucket_move", from_bucket=d.from_bucket, to_bucket=d.to_bucket)


async def risk_graded(conn: AsyncConnection, e: Envelope, row: Row, d: ev.RiskGraded) -> None:
    row["risk_grade"], row["risk_score"] = d.grade, d.score


# --- contact ----------------------------------------------------------------------------


async def contact_attempted(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.ContactAttempted
) -> None:
    number = str(d.contact_point)  # opened by the projection (arrears.messaging.personal)
    point = m.point_key(number)
    state = POINT_STATE_AFTER.get(d.outcome)
    raw = await driver(conn)
    await raw.execute(
        _ATTEMPT_AND_POINT,
        row["case_id"],
        fingerprint(row["case_id"], d.channel, d.party, point, d.outcome, d.occurred_at),
        e.caseversion,
        d.occurred_at,
        d.channel,
        d.party,
        point,
        d.outcome,
        False,  # the event does not say; one forwarded from here keeps its direction
        d.agent_id,
        d.recording_ref,
        row["strategy"],
        row["arm"],
        state or m.VALID,
        state is not None,
        m.mask_point(number),
    )
    if d.outcome == "right_party_contact":
        row["last_rpc_at"] = max(filter(None, (row.get("last_rpc_at"), d.occurred_at)))


# One round trip per attempt: record it (or confirm the one forwarded from here) and mark
# its number's state (wrong number, out of service, reached). A number the case does not
# know is not learned here: its owner would be the caller's label, not the case's fact
# (ContactPointAdded adds it, with its owner and source). The KPIs' attempt counter goes up
# when an outbound attempt is first recorded by case-service (a new row, or one forwarded
# from here, still without a version: the CTE `old` sees the row as the statement began).
_ATTEMPT_AND_POINT = """
    WITH old AS (SELECT version FROM cs_attempts WHERE fingerprint = $2),
    attempt AS (
      INSERT INTO cs_attempts (case_id, fingerprint, version, occurred_at, channel, party,
        point, outcome, inbound, agent_id, recording_ref, strategy, arm, point_masked)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $16)
      ON CONFLICT (fingerprint) DO UPDATE SET version = EXCLUDED.version
      RETURNING version, occurred_at, outcome, inbound, strategy, arm
    ), counted AS (
      INSERT INTO cs_kpi_deltas (measure, day, arm, strategy, k1, k2, n, amount)
      SELECT 'attempt', (a.occurred_at AT TIME ZONE 'UTC')::date, coalesce(a.arm, ''),
        coalesce(a.strategy, ''),
        CASE WHEN a.outcome = 'right_party_contact' THEN 'rpc' ELSE '' END, '', 1, 0
      FROM attempt a
      WHERE a.version IS NOT NULL AND NOT a.inbound
        AND NOT EXISTS (SELECT 1 FROM old WHERE old.version IS NOT NULL)
    )
    UPDATE cs_contact_points SET state = $14 WHERE case_id = $1 AND value = $7 AND $15::boolean
"""


async def contact_lost(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.ContactLost
) -> list[ContactTask]:
    row["contactability"] = "lost"
    row["lost_at"] = d.as_of
    due = event_time(e)
    return [
        ContactTask(
            task_id=task_id(row["case_id"], "skip-trace", e.id, due.date()),
            task_type=SKIP_TRACE,
            case_id=row["case_id"],
            due_at=due,
            step="skip-trace-333",
            channel="none",
            party="borrower",
            strategy=row["strategy"],
            strategy_version=0,  # stamped from the strategy book when recorded
            arm=row["arm"],
            data={
                "reason": "contact_lost",
                "rule": "3:3:3",
                "numbers_tried": d.numbers_tried,
                "call_attempts": d.call_attempts,
                "times_of_day": list(d.times_of_day),
                "sms_sent": d.sms_sent,
                "lost_at": str(e.data["as_of"]),  # as the event spells it
            },
        )
    ]


async def contact_regained(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.ContactRegained
) -> None:
    row["contactability"], row["lost_at"] = "reachable", None


# --- promises ---------------------------------------------------------------------------


async def promise_made(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.PromiseToPayMade
) -> None:
    await conn.execute(
        insert(PROMISES)
        .values(
            promise_id=d.promise_id,
            case_id=row["case_id"],
            amount=d.amount,
            currency=d.currency,
            promised_date=d.promised_date,
            made_at=d.made_at,
            status="open",
            strategy=row["strategy"],
            arm=row["arm"],
        )
        .on_conflict_do_nothing()
    )
    row["open_promise_id"] = d.promise_id
    row["open_promise_due"] = d.promised_date
    row["open_promise_amount"] = d.amount


async def _resolve_promise(
    conn: AsyncConnection, row: Row, promise_id: str, status: str, on: date
) -> None:
    raw = await driver(conn)
    await raw.execute(kpi.RESOLVE_PROMISE, promise_id, status, on)  # with its KPI counter
    if row.get("open_promise_id") == promise_id:
        row["open_promise_id"] = row["open_promise_due"] = row["open_promise_amount"] = None


async def promise_kept(conn: AsyncConnection, e: Envelope, row: Row, d: ev.PromiseKept) -> None:
    row["promises_kept"] += 1
    await _resolve_promise(conn, row, d.promise_id, "kept", d.kept_on)


async def promise_broken(conn: AsyncConnection, e: Envelope, row: Row, d: ev.PromiseBroken) -> None:
    row["promises_broken"] += 1
    await _resolve_promise(conn, row, d.promise_id, "broken", d.as_of)


# --- conduct: disputes, complaints, agencies --------------------------------------------


async def dispute_raised(conn: AsyncConnection, e: Envelope, row: Row, d: ev.DisputeRaised) -> None:
    row["in_dispute"] = True


async def complaint_received(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.ComplaintReceived
) -> None:
    row["open_complaints"] = sorted({*row["open_complaints"], d.complaint_id})
    flag = COMPLAINT_FLAGS.get(d.category.lower())
    if flag is not None:
        row["flags"] = sorted({*row["flags"], flag})


async def complaint_resolved(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.ComplaintResolved
) -> None:
    row["open_complaints"] = [c for c in row["open_complaints"] if c != d.complaint_id]


async def placed(conn: AsyncConnection, e: Envelope, row: Row, d: ev.PlacedWithAgency) -> None:
    row["agency_id"] = d.agency_id


async def recalled(conn: AsyncConnection, e: Envelope, row: Row, d: ev.RecalledFromAgency) -> None:
    row["agency_id"] = None


# --- life of the case -------------------------------------------------------------------


async def closed(conn: AsyncConnection, e: Envelope, row: Row, d: ev.CaseClosed) -> None:
    row["status"], row["close_reason"] = "closed", d.reason
    await _outcome(conn, e, row, "closure", reason=d.reason)


async def reopened(conn: AsyncConnection, e: Envelope, row: Row, d: ev.CaseReopened) -> None:
    row["status"], row["close_reason"] = "open", None


HANDLERS: dict[str, Handler] = dict(
    (
        *REACH_HANDLERS,
        typed(ev.PaymentMissed, payment_missed),
        typed(ev.PaymentReceived, payment_received),
        typed(ev.PaymentPlanAgreed, plan_agreed),
        typed(ev.DelinquencyBucketChanged, bucket_changed),
        typed(ev.RiskGraded, risk_graded),
        typed(ev.ContactAttempted, contact_attempted),
        typed(ev.ContactLost, contact_lost),
        typed(ev.ContactRegained, contact_regained),
        typed(ev.PromiseToPayMade, promise_made),
        typed(ev.PromiseKept, promise_kept),
        typed(ev.PromiseBroken, promise_broken),
        typed(ev.DisputeRaised, dispute_raised),
        typed(ev.ComplaintReceived, complaint_received),
        typed(ev.ComplaintResolved, complaint_resolved),
        typed(ev.PlacedWithAgency, placed),
        typed(ev.RecalledFromAgency, recalled),
        typed(ev.CaseClosed, closed),
        typed(ev.CaseReopened, reopened),
        typed(ev.PersonalDataErased, personal_data_erased),
    )
)
