"""Case events -> contact-service read models: one small function per event type."""

# Every handler has the same signature; not each uses every argument.
# ruff: noqa: ARG001

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from arrears.messaging import Envelope, event_time
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy import model as m
from contact_service.projections.erasure import personal_data_erased
from contact_service.projections.reach import REACH_HANDLERS
from contact_service.projections.store import (
    Row,
    day_of,
    driver,
    fingerprint,
    instant,
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

# A handler changes the case's row and its own tables, and returns the tasks it decides (the
# projection records and emits them).
Handler = Callable[[AsyncConnection, Envelope, Row], Awaitable[Sequence[ContactTask] | None]]


# --- money ---------------------------------------------------------------------------


def _recompute(row: Row, day: date) -> None:
    row["arrears"] = derive.arrears_on(row["installments"], day)
    row["oldest_due_on"] = derive.oldest_due(row["installments"])
    row["days_past_due"] = derive.days_past_due(row["oldest_due_on"], day)


async def payment_missed(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    installments = dict(row["installments"])
    installments[str(d["installment"])] = {
        "due_date": str(d["due_date"]),
        "amount": str(d["amount"]),
        "paid": "0",
        "superseded": False,
    }
    row["installments"] = installments
    _recompute(row, day_of(e))


async def payment_received(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    installments = {k: dict(v) for k, v in row["installments"].items()}
    for part in d.get("allocations") or []:
        item = installments.get(str(part["installment"]))
        if item is not None:
            item["paid"] = str(Decimal(item["paid"]) + Decimal(str(part["amount"])))
    row["installments"] = installments
    row["paid_total"] = Decimal(row["paid_total"]) + Decimal(str(d["amount"]))
    _recompute(row, day_of(e))
    await _outcome(conn, e, row, "payment", amount=Decimal(str(d["amount"])))


async def plan_agreed(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    installments = {k: dict(v) for k, v in row["installments"].items()}
    for key in d.get("superseded") or []:
        if key in installments:
            installments[key]["superseded"] = True
    for item in d.get("installments") or []:
        installments[f"P{d['plan_number']}-{item['number']}"] = {
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


_OUTCOME = (
    "INSERT INTO cs_outcomes (case_id, version, kind, on_date, from_bucket, to_bucket, amount,"
    " reason, strategy, arm) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT DO NOTHING"
)


# --- aging and risk --------------------------------------------------------------------


async def bucket_changed(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    row["bucket"] = str(d["to_bucket"])
    row["bucket_entered_on"] = date.fromisoformat(str(d["as_of"]))
    row["days_past_due"] = int(d["days_past_due"])
    await _outcome(
        conn, e, row, "bucket_move", from_bucket=str(d["from_bucket"]), to_bucket=row["bucket"]
    )


async def risk_graded(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["risk_grade"], row["risk_score"] = str(e.data["grade"]), int(e.data["score"])


# --- contact ----------------------------------------------------------------------------


async def contact_attempted(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    occurred_at = instant(str(d["occurred_at"]))
    point = m.point_key(str(d["contact_point"]))
    values = {
        "case_id": row["case_id"],
        "fingerprint": fingerprint(
            row["case_id"], d["channel"], d["party"], point, d["outcome"], occurred_at
        ),
        "version": e.caseversion,
        "occurred_at": occurred_at,
        "channel": str(d["channel"]),
        "party": str(d["party"]),
        "point": point,
        "outcome": str(d["outcome"]),
        "inbound": bool(d.get("inbound", False)),
        "agent_id": d.get("agent_id"),
        "recording_ref": d.get("recording_ref"),
        "strategy": row["strategy"],
        "arm": row["arm"],
    }
    state = POINT_STATE_AFTER.get(values["outcome"])
    raw = await driver(conn)
    await raw.execute(
        _ATTEMPT_AND_POINT,
        values["case_id"],
        values["fingerprint"],
        values["version"],
        values["occurred_at"],
        values["channel"],
        values["party"],
        values["point"],
        values["outcome"],
        values["inbound"],
        values["agent_id"],
        values["recording_ref"],
        values["strategy"],
        values["arm"],
        state or m.VALID,
        state is not None,
        m.mask_point(str(d["contact_point"])),
    )
    if d["outcome"] == "right_party_contact":
        row["last_rpc_at"] = max(filter(None, (row.get("last_rpc_at"), occurred_at)))


# One round trip per attempt: record it (or confirm the one forwarded from here) and mark
# its number's state (wrong number, out of service, reached). A number the case does not
# know is not learned here: its owner would be the caller's label, not the case's fact
# (ContactPointAdded adds it, with its owner and source).
_ATTEMPT_AND_POINT = """
    WITH attempt AS (
      INSERT INTO cs_attempts (case_id, fingerprint, version, occurred_at, channel, party,
        point, outcome, inbound, agent_id, recording_ref, strategy, arm, point_masked)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $16)
      ON CONFLICT (fingerprint) DO UPDATE SET version = EXCLUDED.version
      RETURNING 1
    )
    UPDATE cs_contact_points SET state = $14 WHERE case_id = $1 AND value = $7 AND $15::boolean
"""


async def contact_lost(conn: AsyncConnection, e: Envelope, row: Row) -> list[ContactTask]:
    row["contactability"] = "lost"
    row["lost_at"] = instant(str(e.data["as_of"]))
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
                "numbers_tried": e.data.get("numbers_tried"),
                "call_attempts": e.data.get("call_attempts"),
                "times_of_day": e.data.get("times_of_day"),
                "sms_sent": e.data.get("sms_sent"),
                "lost_at": str(e.data["as_of"]),
            },
        )
    ]


async def contact_regained(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["contactability"], row["lost_at"] = "reachable", None


# --- promises ---------------------------------------------------------------------------


async def promise_made(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    promised = date.fromisoformat(str(d["promised_date"]))
    await conn.execute(
        insert(PROMISES)
        .values(
            promise_id=str(d["promise_id"]),
            case_id=row["case_id"],
            amount=Decimal(str(d["amount"])),
            currency=str(d["currency"]),
            promised_date=promised,
            made_at=instant(str(d["made_at"])),
            status="open",
            strategy=row["strategy"],
            arm=row["arm"],
        )
        .on_conflict_do_nothing()
    )
    row["open_promise_id"] = str(d["promise_id"])
    row["open_promise_due"] = promised
    row["open_promise_amount"] = Decimal(str(d["amount"]))


async def _resolve_promise(
    conn: AsyncConnection, e: Envelope, row: Row, status: str, on: str
) -> None:
    promise_id = str(e.data["promise_id"])
    await conn.execute(
        update(PROMISES)
        .where(PROMISES.c.promise_id == promise_id)
        .values(status=status, resolved_on=date.fromisoformat(on[:10]))
    )
    if row.get("open_promise_id") == promise_id:
        row["open_promise_id"] = row["open_promise_due"] = row["open_promise_amount"] = None


async def promise_kept(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["promises_kept"] += 1
    await _resolve_promise(conn, e, row, "kept", str(e.data["kept_on"]))


async def promise_broken(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["promises_broken"] += 1
    await _resolve_promise(conn, e, row, "broken", str(e.data["as_of"]))


# --- conduct: disputes, complaints, agencies --------------------------------------------


async def dispute_raised(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["in_dispute"] = True


async def complaint_received(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    complaint_id = str(e.data["complaint_id"])
    row["open_complaints"] = sorted({*row["open_complaints"], complaint_id})
    flag = COMPLAINT_FLAGS.get(str(e.data.get("category", "")).lower())
    if flag is not None:
        row["flags"] = sorted({*row["flags"], flag})


async def complaint_resolved(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    complaint_id = str(e.data["complaint_id"])
    row["open_complaints"] = [c for c in row["open_complaints"] if c != complaint_id]


async def placed(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["agency_id"] = str(e.data["agency_id"])


async def recalled(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["agency_id"] = None


# --- life of the case -------------------------------------------------------------------


async def closed(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["status"], row["close_reason"] = "closed", str(e.data["reason"])
    await _outcome(conn, e, row, "closure", reason=row["close_reason"])


async def reopened(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["status"], row["close_reason"] = "open", None


HANDLERS: dict[str, Handler] = {
    **REACH_HANDLERS,
    "PaymentMissed": payment_missed,
    "PaymentReceived": payment_received,
    "PaymentPlanAgreed": plan_agreed,
    "DelinquencyBucketChanged": bucket_changed,
    "RiskGraded": risk_graded,
    "ContactAttempted": contact_attempted,
    "ContactLost": contact_lost,
    "ContactRegained": contact_regained,
    "PromiseToPayMade": promise_made,
    "PromiseKept": promise_kept,
    "PromiseBroken": promise_broken,
    "DisputeRaised": dispute_raised,
    "ComplaintReceived": complaint_received,
    "ComplaintResolved": complaint_resolved,
    "PlacedWithAgency": placed,
    "RecalledFromAgency": recalled,
    "CaseClosed": closed,
    "CaseReopened": reopened,
    "PersonalDataErased": personal_data_erased,
}
