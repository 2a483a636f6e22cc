"""Case events -> contact-service read models. One small function per event type.

`Projection.handle(conn, envelope)` runs inside the consumer's transaction (with the
tracking row written by `arrears.messaging`), so each event changes the read model once.
Handlers load the case row, change it, and write back the changed columns with the derived
ones (priority, blocked) recomputed.
"""

# Every handler has the same signature; not each uses every argument.
# ruff: noqa: ARG001

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from arrears.messaging import Envelope, PoisonError
from sqlalchemy import column, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy import model as m
from contact_service.policy.profiles import Profile
from contact_service.policy.strategy import StrategyBook
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo
from contact_service.readmodel.tables import CASES, PROMISES
from contact_service.tasks import SKIP_TRACE, ContactTask, Emitter, task_id

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

Row = dict[str, Any]
Handler = Callable[["Projection", AsyncConnection, Envelope, Row], Awaitable[None]]


def fingerprint(
    case_id: str, channel: str, party: str, point: str, outcome: str, occurred_at: datetime
) -> str:
    """The identity of one contact attempt (the same from the API and from the event)."""
    moment = occurred_at.astimezone(UTC).isoformat()
    text = f"{case_id}|{channel}|{party}|{m.point_key(point)}|{outcome}|{moment}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rows_of_this_transaction(conn: AsyncConnection) -> dict[str, Row]:
    """Case rows this transaction has read or written (a batch touches a case many times:
    one SELECT ... FOR UPDATE per case per batch). Cleared by a new transaction."""
    sync = conn.sync_connection
    assert sync is not None
    transaction = sync.get_transaction()
    held = sync.info.get("contact_service.rows")
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        sync.info["contact_service.rows"] = held
    rows: dict[str, Row] = held[1]
    return rows


_CASE_FOR_UPDATE = text("SELECT * FROM cs_cases WHERE case_id = :case_id FOR UPDATE").columns(
    *(column(c.name, c.type) for c in CASES.c)
)


@lru_cache(maxsize=256)
def _update_sql(columns: tuple[str, ...]) -> str:
    """`UPDATE cs_cases SET <columns> WHERE case_id = $n`, built once per set of columns."""
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
    return f"UPDATE cs_cases SET {assignments} WHERE case_id = ${len(columns) + 1}"  # noqa: S608


def _db_value(name: str, value: Any) -> Any:
    # The asyncpg codec SQLAlchemy installs for jsonb takes JSON text.
    return orjson.dumps(value).decode() if name == "installments" else value


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside `conn`'s transaction: the projection's
    hot statements go straight to it (no expression building or result wrapping)."""
    fairy = await conn.get_raw_connection()
    if getattr(fairy.dbapi_connection, "_transaction", True) is None:
        await conn.execute(text("SELECT 1"))  # SQLAlchemy opens its transaction first
    return fairy.driver_connection


def _day(envelope: Envelope) -> date:
    return (envelope.time or datetime.now(UTC)).astimezone(UTC).date()


class Projection:
    def __init__(self, book: StrategyBook, profile: Profile, emit: Emitter | None = None) -> None:
        self.book = book
        self.profile = profile
        self.emit = emit

    async def handle(self, conn: AsyncConnection, envelope: Envelope) -> None:
        name = envelope.event_name
        case_id = envelope.subject
        if case_id is None:
            raise PoisonError("a case event without a subject")
        if name == "CaseOpened":
            await self._opened(conn, envelope, case_id)
            return
        rows = _rows_of_this_transaction(conn)
        before = rows.get(case_id)
        if before is None:
            result = await conn.execute(_CASE_FOR_UPDATE, {"case_id": case_id})
            found = result.mappings().first()
            if found is None:
                raise PoisonError(f"{name} for case {case_id}, which was never opened here")
            before = dict(found)
        row = dict(before)
        handler = HANDLERS.get(name)
        if handler is not None:
            await handler(self, conn, envelope, row)
        await self.save(conn, row, before, _day(envelope), envelope)
        rows[case_id] = row  # only once every statement of the event succeeded

    async def record(self, conn: AsyncConnection, task: ContactTask) -> None:
        """Record a task decided here and put it in the task outbox, once."""
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
        row["blocked"] = derive.blocked(row, self.profile)
        changed = {k: v for k, v in row.items() if before.get(k) != v}
        if changed:
            row["version"] = changed["version"] = envelope.caseversion or row["version"]
            row["updated_at"] = changed["updated_at"] = envelope.time or row["updated_at"]
            columns = tuple(sorted(changed))
            raw = await driver(conn)
            await raw.execute(
                _update_sql(columns), *(_db_value(c, changed[c]) for c in columns), row["case_id"]
            )

    async def _opened(self, conn: AsyncConnection, envelope: Envelope, case_id: str) -> None:
        data = envelope.data
        borrower: Mapping[str, Any] = data.get("borrower") or {}
        assignment = self.book.assign(case_id, str(data.get("product", "")))
        moment = envelope.time or datetime.now(UTC)
        timezone = str(borrower.get("timezone") or "Asia/Shanghai")
        candidates = borrower.get("candidate_timezones") or borrower.get("timezones") or []
        guarantors = list(data.get("guarantors") or [])
        points: list[Row] = []
        for phone in borrower.get("phones") or []:
            owner = str(phone.get("owner") or "borrower")
            points.append(_point(case_id, phone["number"], owner, phone.get("kind"), len(points)))
        if borrower.get("email"):
            points.append(_point(case_id, borrower["email"], "borrower", "email", len(points)))
        for guarantor in guarantors:
            for phone in guarantor.get("phones") or []:
                points.append(_point(case_id, phone["number"], "guarantor", "mobile", len(points)))
        parties = sorted(
            {p["party"] for p in points} | {"borrower"} | ({"guarantor"} if guarantors else set())
        )
        row: Row = {
            "case_id": case_id,
            "loan_id": str(data.get("loan_id", "")),
            "product": str(data.get("product", "")),
            "currency": str(data.get("currency", "")),
            "principal": Decimal(str(data.get("principal", "0"))),
            "status": "open",
            "opened_at": moment,
            "bucket": "M0",
            "bucket_entered_on": moment.date(),
            "days_past_due": 0,
            "installments": {},
            "arrears": Decimal("0"),
            "paid_total": Decimal("0"),
            "timezone": timezone,
            "candidate_timezones": [str(z) for z in candidates if z != timezone],
            "payday": int(borrower["payday"]) if borrower.get("payday") else None,
            "address": borrower.get("address"),
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
        full = {c.name: row.get(c.name) for c in CASES.c}
        unique = list({p["value"]: p for p in points}.values())
        raw = await driver(conn)
        inserted = await raw.fetchval(
            _OPEN_CASE,
            *(_db_value(name, value) for name, value in full.items()),
            [p["value"] for p in unique],
            [p["party"] for p in unique],
            [p["kind"] for p in unique],
            [p["position"] for p in unique],
            full["timezone"],
            full["candidate_timezones"],
        )
        if inserted:
            _rows_of_this_transaction(conn)[case_id] = full


_CASE_COLUMNS = [c.name for c in CASES.c]
_N = len(_CASE_COLUMNS)
# The case and its contact points in one round trip (the points only if the case is new).
_OPEN_CASE = f"""
    WITH opened AS (
      INSERT INTO cs_cases ({", ".join(_CASE_COLUMNS)})
      VALUES ({", ".join(f"${i}" for i in range(1, _N + 1))})
      ON CONFLICT DO NOTHING RETURNING case_id
    ), zones AS (
      INSERT INTO cs_zones (zone) SELECT DISTINCT z FROM opened,
        unnest(array_prepend(${_N + 5}::text, ${_N + 6}::text[])) AS z
      ON CONFLICT DO NOTHING
    ), points AS (
      INSERT INTO cs_contact_points (case_id, value, party, kind, state, opted_out, position)
      SELECT o.case_id, t.value, t.party, t.kind, 'valid', '{{}}', t.position
      FROM opened o, unnest(${_N + 1}::text[], ${_N + 2}::text[], ${_N + 3}::text[],
                            ${_N + 4}::int[]) AS t(value, party, kind, position)
      ON CONFLICT DO NOTHING
    )
    SELECT count(*) FROM opened
"""  # noqa: S608


def _point(case_id: str, value: str, party: str, kind: Any, position: int) -> Row:
    return {
        "case_id": case_id,
        "value": m.point_key(str(value)),
        "party": party,
        "kind": str(kind or "mobile"),
        "state": m.VALID,
        "opted_out": [],
        "position": position,
    }


# --- money ---------------------------------------------------------------------------


def _recompute(row: Row, day: date) -> None:
    row["arrears"] = derive.arrears_on(row["installments"], day)
    row["oldest_due_on"] = derive.oldest_due(row["installments"])
    row["days_past_due"] = derive.days_past_due(row["oldest_due_on"], day)


async def payment_missed(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    installments = dict(row["installments"])
    installments[str(d["installment"])] = {
        "due_date": str(d["due_date"]),
        "amount": str(d["amount"]),
        "paid": "0",
        "superseded": False,
    }
    row["installments"] = installments
    _recompute(row, _day(e))


async def payment_received(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    installments = {k: dict(v) for k, v in row["installments"].items()}
    for part in d.get("allocations") or []:
        item = installments.get(str(part["installment"]))
        if item is not None:
            item["paid"] = str(Decimal(item["paid"]) + Decimal(str(part["amount"])))
    row["installments"] = installments
    row["paid_total"] = Decimal(row["paid_total"]) + Decimal(str(d["amount"]))
    _recompute(row, _day(e))
    await _outcome(conn, e, row, "payment", amount=Decimal(str(d["amount"])))


async def plan_agreed(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
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
    _recompute(row, _day(e))


async def _outcome(conn: AsyncConnection, e: Envelope, row: Row, kind: str, **values: Any) -> None:
    raw = await driver(conn)
    await raw.execute(
        _OUTCOME,
        row["case_id"],
        e.caseversion or 0,
        kind,
        _day(e),
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


async def bucket_changed(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    row["bucket"] = str(d["to_bucket"])
    row["bucket_entered_on"] = date.fromisoformat(str(d["as_of"]))
    row["days_past_due"] = int(d["days_past_due"])
    await _outcome(
        conn, e, row, "bucket_move", from_bucket=str(d["from_bucket"]), to_bucket=row["bucket"]
    )


async def risk_graded(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["risk_grade"], row["risk_score"] = str(e.data["grade"]), int(e.data["score"])


# --- contact ----------------------------------------------------------------------------


async def contact_attempted(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    occurred_at = _instant(str(d["occurred_at"]))
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
    known = d["channel"] in {"call", "sms"}
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
        "mobile" if d["channel"] == "sms" else "home",
        state or m.VALID,
        state is not None,
        known,
    )
    if d["outcome"] == "right_party_contact":
        row["last_rpc_at"] = max(filter(None, (row.get("last_rpc_at"), occurred_at)))


# One round trip per attempt: record it (or confirm the one forwarded from here), learn the
# number if it is new, and mark its state (wrong number, out of service, reached).
_ATTEMPT_AND_POINT = """
    WITH attempt AS (
      INSERT INTO cs_attempts (case_id, fingerprint, version, occurred_at, channel, party,
        point, outcome, inbound, agent_id, recording_ref, strategy, arm)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
      ON CONFLICT (fingerprint) DO UPDATE SET version = EXCLUDED.version
      RETURNING 1
    )
    INSERT INTO cs_contact_points (case_id, value, party, kind, state, opted_out, position)
    SELECT $1, $7, $6, $14, $15, '{}', 99 WHERE $17::boolean
    ON CONFLICT (case_id, value) DO UPDATE SET state = EXCLUDED.state WHERE $16::boolean
"""


async def contact_lost(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["contactability"] = "lost"
    row["lost_at"] = _instant(str(e.data["as_of"]))
    strategy = p.book.strategies.get(row["strategy"])
    due = e.time or datetime.now(UTC)
    await p.record(
        conn,
        ContactTask(
            task_id=task_id(row["case_id"], "skip-trace", e.id, due.date()),
            task_type=SKIP_TRACE,
            case_id=row["case_id"],
            due_at=due,
            step="skip-trace-333",
            channel="none",
            party="borrower",
            strategy=row["strategy"],
            strategy_version=strategy.version if strategy else 0,
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
        ),
    )


async def contact_regained(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["contactability"], row["lost_at"] = "reachable", None


# --- promises ---------------------------------------------------------------------------


async def promise_made(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
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
            made_at=_instant(str(d["made_at"])),
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


async def promise_kept(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["promises_kept"] += 1
    await _resolve_promise(conn, e, row, "kept", str(e.data["kept_on"]))


async def promise_broken(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["promises_broken"] += 1
    await _resolve_promise(conn, e, row, "broken", str(e.data["as_of"]))


# --- conduct: disputes, complaints, agencies --------------------------------------------


async def dispute_raised(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["in_dispute"] = True


async def complaint_received(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    complaint_id = str(e.data["complaint_id"])
    row["open_complaints"] = sorted({*row["open_complaints"], complaint_id})
    flag = COMPLAINT_FLAGS.get(str(e.data.get("category", "")).lower())
    if flag is not None:
        row["flags"] = sorted({*row["flags"], flag})


async def complaint_resolved(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    complaint_id = str(e.data["complaint_id"])
    row["open_complaints"] = [c for c in row["open_complaints"] if c != complaint_id]


async def placed(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["agency_id"] = str(e.data["agency_id"])


async def recalled(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["agency_id"] = None


# --- life of the case -------------------------------------------------------------------


async def closed(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["status"], row["close_reason"] = "closed", str(e.data["reason"])
    await _outcome(conn, e, row, "closure", reason=row["close_reason"])


async def reopened(p: Projection, conn: AsyncConnection, e: Envelope, row: Row) -> None:
    row["status"], row["close_reason"] = "open", None


HANDLERS: dict[str, Handler] = {
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
}
