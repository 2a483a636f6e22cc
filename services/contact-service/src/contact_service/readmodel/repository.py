"""Every query contact-service makes against its read models."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import JSON, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy import model as m
from contact_service.readmodel import derive
from contact_service.readmodel.tables import (
    ATTEMPTS,
    CASES,
    CLAIMS,
    POINTS,
    RESTRICTIONS,
    RUNS,
    TASKS,
)

HISTORY_DAYS = 8  # the guard looks back 7 local days; one more for time zones

Row = dict[str, Any]


# --- cases, points, history -----------------------------------------------------------


async def get_case(conn: AsyncConnection, case_id: str) -> Row | None:
    found = (await conn.execute(select(CASES).where(CASES.c.case_id == case_id))).mappings()
    row = found.first()
    return dict(row) if row else None


async def points_of(conn: AsyncConnection, case_ids: Sequence[str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {c: [] for c in case_ids}
    result = await conn.execute(
        select(POINTS)
        .where(POINTS.c.case_id.in_(list(case_ids)))
        .order_by(POINTS.c.case_id, POINTS.c.position, POINTS.c.value)
    )
    for row in result.mappings():
        out[row["case_id"]].append(dict(row))
    return out


@dataclass(frozen=True)
class PolicyInputs:
    row: Row
    view: m.CaseView
    history: list[m.Attempt]
    points: list[Row]


_POLICY_INPUTS_SQL = """
    SELECT c.*,
      (SELECT coalesce(json_agg(json_build_object(
                'value', p.value, 'party', p.party, 'kind', p.kind, 'state', p.state,
                'opted_out', p.opted_out) ORDER BY p.position, p.value), '[]'::json)
         FROM cs_contact_points p WHERE p.case_id = c.case_id) AS points_json,
      (SELECT coalesce(json_agg(json_build_object(
                'occurred_at', a.occurred_at, 'channel', a.channel, 'party', a.party,
                'point', a.point, 'outcome', a.outcome, 'inbound', a.inbound)
                ORDER BY a.occurred_at), '[]'::json)
         FROM cs_attempts a
        WHERE a.case_id = c.case_id
          AND (a.occurred_at >= :since OR a.outcome = 'third_party_contact')
          AND a.fingerprint IS DISTINCT FROM :exclude
          AND (a.version IS NOT NULL OR a.command_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM command_outbox o
                WHERE o.id = a.command_id AND o.outcome = 'rejected'))) AS history_json
    FROM cs_cases c WHERE c.case_id = ANY(:ids)
    """
_POLICY_INPUTS = text(_POLICY_INPUTS_SQL).columns(
    installments=JSONB, points_json=JSON, history_json=JSON
)


async def policy_inputs(
    conn: AsyncConnection, case_ids: Sequence[str], now: datetime, exclude: str | None = None
) -> dict[str, PolicyInputs]:
    """Case rows with their contact points and recent history: one round trip."""
    if not case_ids:
        return {}
    result = await conn.execute(
        _POLICY_INPUTS,
        {"ids": list(case_ids), "since": now - timedelta(days=HISTORY_DAYS), "exclude": exclude},
    )
    out: dict[str, PolicyInputs] = {}
    for found in result.mappings():
        row = dict(found)
        points = row.pop("points_json")
        history = [
            derive.attempt({**a, "occurred_at": datetime.fromisoformat(a["occurred_at"])})
            for a in row.pop("history_json")
        ]
        out[row["case_id"]] = PolicyInputs(row, derive.case_view(row, points), history, points)
    return out


_ONE_CASE_SQL = (
    _POLICY_INPUTS_SQL.replace("c.case_id = ANY(:ids)", "c.case_id = $1")
    .replace(":since", "$2")
    .replace(":exclude", "$3::text")
)


_MANY_CASES_SQL = (
    _POLICY_INPUTS_SQL.replace(":ids", "$1::text[]")
    .replace(":since", "$2")
    .replace(":exclude", "$3::text")
)


def _inputs(found: Any) -> PolicyInputs:
    row = dict(found)
    points = orjson.loads(row.pop("points_json"))
    history = [
        derive.attempt({**a, "occurred_at": datetime.fromisoformat(a["occurred_at"])})
        for a in orjson.loads(row.pop("history_json"))
    ]
    return PolicyInputs(row, derive.case_view(row, points), history, points)


async def policy_inputs_many(
    pool: asyncpg.Pool, case_ids: Sequence[str], now: datetime
) -> dict[str, PolicyInputs]:
    """`policy_inputs` for many cases over the plain asyncpg pool: one round trip."""
    found = await pool.fetch(
        _MANY_CASES_SQL, sorted(set(case_ids)), now - timedelta(days=HISTORY_DAYS), None
    )
    return {r["case_id"]: _inputs(r) for r in found}


async def policy_inputs_one(
    pool: asyncpg.Pool, case_id: str, now: datetime, exclude: str | None = None
) -> PolicyInputs | None:
    """`policy_inputs` for one case over a plain asyncpg pool (the guard endpoint's path)."""
    found = await pool.fetchrow(_ONE_CASE_SQL, case_id, now - timedelta(days=HISTORY_DAYS), exclude)
    return None if found is None else _inputs(found)


async def record_pending_attempt(conn: AsyncConnection, values: Row) -> None:
    """An attempt forwarded to case-service, counted by the guard until its event is back
    (or case-service rejects its command)."""
    await conn.execute(insert(ATTEMPTS).values(**values).on_conflict_do_nothing())


# --- restrictions ---------------------------------------------------------------------


async def set_flag(conn: AsyncConnection, case_id: str, flag: str, on: bool) -> None:
    column = CASES.c.flags
    value = (
        func.array_append(func.array_remove(column, flag), flag)
        if on
        else func.array_remove(column, flag)
    )
    await conn.execute(update(CASES).where(CASES.c.case_id == case_id).values(flags=value))


async def set_channel_opt_out(conn: AsyncConnection, case_id: str, channel: str, on: bool) -> None:
    column = CASES.c.opted_out_channels
    value = (
        func.array_append(func.array_remove(column, channel), channel)
        if on
        else func.array_remove(column, channel)
    )
    await conn.execute(
        update(CASES).where(CASES.c.case_id == case_id).values(opted_out_channels=value)
    )


async def set_point_state(conn: AsyncConnection, case_id: str, point: str, state: str) -> bool:
    result = await conn.execute(
        update(POINTS)
        .where(POINTS.c.case_id == case_id, POINTS.c.value == m.point_key(point))
        .values(state=state)
    )
    return bool(result.rowcount)


CASE_FLAG_KINDS = frozenset(m.CASE_FLAGS)
POINT_KINDS = {
    "wrong_number": m.WRONG_NUMBER,
    "point_do_not_contact": m.DO_NOT_CONTACT,
    "point_valid": m.VALID,
}


async def apply_restriction(
    conn: AsyncConnection,
    case_id: str,
    kind: str,
    active: bool,
    channel: str | None,
    contact_point: str | None,
) -> bool:
    """Set a flag, an opt-out or a point's state; False if the contact point is unknown."""
    if kind in CASE_FLAG_KINDS:
        await set_flag(conn, case_id, kind, active)
    elif kind == "opt_out" and channel is not None:
        await set_channel_opt_out(conn, case_id, channel, active)
    elif kind in POINT_KINDS and contact_point is not None:
        state = POINT_KINDS[kind] if active else m.VALID
        return await set_point_state(conn, case_id, contact_point, state)
    return True


async def log_restriction(conn: AsyncConnection, values: Row) -> None:
    await conn.execute(insert(RESTRICTIONS).values(**values))


async def restrictions_in_order(conn: AsyncConnection) -> list[Row]:
    result = await conn.execute(select(RESTRICTIONS).order_by(RESTRICTIONS.c.id))
    return [dict(r) for r in result.mappings()]


async def refresh_derived(conn: AsyncConnection, row: Row, blocked: bool, day: date) -> None:
    await conn.execute(
        update(CASES)
        .where(CASES.c.case_id == row["case_id"])
        .values(blocked=blocked, priority=derive.priority(row, day))
    )


# --- queues ---------------------------------------------------------------------------

QUEUES = {
    "all": "",
    "m1": "AND c.bucket = 'M1'",
    "m2": "AND c.bucket = 'M2'",
    "m3": "AND c.bucket = 'M3'",
    "m4plus": "AND c.bucket = 'M4+'",
    "lost-contact": "AND c.contactability = 'lost'",
    "promises-due": "AND c.open_promise_due IS NOT NULL",
}
# Written so the planner sees most rows pass the zone test: it then walks the priority index
# (cs_cases_queue / cs_cases_queue_bucket) and stops after the page.
_QUEUE_SQL = """
    SELECT c.* FROM cs_cases c
    WHERE c.status = 'open' AND NOT c.blocked AND c.bucket <> 'M0'
      AND c.timezone = ANY(CAST(:zones AS text[]))
      AND (cardinality(c.candidate_timezones) = 0
           OR c.candidate_timezones <@ CAST(:zones AS text[]))
      AND NOT EXISTS (SELECT 1 FROM cs_claims l WHERE l.case_id = c.case_id
                      AND l.expires_at > :now AND l.collector <> :collector)
      {queue}
    ORDER BY c.priority DESC, c.case_id
    LIMIT :limit OFFSET :offset
"""
_QUEUE_QUERIES = {
    name: text(_QUEUE_SQL.format(queue=extra)).columns(installments=JSONB)
    for name, extra in QUEUES.items()
}


async def timezones(conn: AsyncConnection) -> list[str]:
    """The zones cases have named (a small table the projection keeps)."""
    result = await conn.execute(text("SELECT zone FROM cs_zones"))
    return [r[0] for r in result]


async def queue_candidates(
    conn: AsyncConnection,
    queue: str,
    *,
    zones: Sequence[str],
    collector: str,
    now: datetime,
    limit: int,
    offset: int,
) -> list[Row]:
    """Open, unblocked, delinquent cases whose local time is within permitted hours, not
    leased to another collector, highest priority first."""
    result = await conn.execute(
        _QUEUE_QUERIES[queue],
        {
            "zones": list(zones),
            "now": now,
            "collector": collector,
            "limit": limit,
            "offset": offset,
        },
    )
    return [dict(r) for r in result.mappings()]


async def claims_of(
    conn: AsyncConnection, case_ids: Sequence[str], now: datetime
) -> dict[str, Row]:
    result = await conn.execute(
        select(CLAIMS).where(CLAIMS.c.case_id.in_(list(case_ids)), CLAIMS.c.expires_at > now)
    )
    return {r["case_id"]: dict(r) for r in result.mappings()}


async def claim(
    conn: AsyncConnection,
    case_id: str,
    *,
    collector: str,
    queue: str,
    now: datetime,
    lease: timedelta,
) -> tuple[Row | None, Row | None]:
    """Lease the case to `collector` unless another holds an unexpired lease. One statement:
    of two collectors racing, exactly one gets the row. Returns (won, current holder)."""
    values = dict(
        case_id=case_id,
        collector=collector,
        lease_id=str(uuid.uuid4()),
        queue=queue,
        claimed_at=now,
        expires_at=now + lease,
    )
    upsert = insert(CLAIMS).values(**values)
    statement = upsert.on_conflict_do_update(
        index_elements=["case_id"],
        set_={
            "collector": upsert.excluded.collector,
            "lease_id": upsert.excluded.lease_id,
            "queue": upsert.excluded.queue,
            "claimed_at": upsert.excluded.claimed_at,
            "expires_at": upsert.excluded.expires_at,
        },
        where=or_(CLAIMS.c.expires_at <= now, CLAIMS.c.collector == collector),
    ).returning(*CLAIMS.c)
    won = (await conn.execute(statement)).mappings().first()
    if won is not None:
        return dict(won), None
    holder = (await conn.execute(select(CLAIMS).where(CLAIMS.c.case_id == case_id))).mappings()
    current = holder.first()
    return None, dict(current) if current else None


async def release(conn: AsyncConnection, case_id: str, collector: str) -> bool:
    result = await conn.execute(
        delete(CLAIMS).where(CLAIMS.c.case_id == case_id, CLAIMS.c.collector == collector)
    )
    return bool(result.rowcount)


# --- daily run ------------------------------------------------------------------------


async def open_cases_after(conn: AsyncConnection, after: str, limit: int) -> list[Row]:
    result = await conn.execute(
        select(CASES)
        .where(CASES.c.status == "open", CASES.c.case_id > after)
        .order_by(CASES.c.case_id)
        .limit(limit)
    )
    return [dict(r) for r in result.mappings()]


async def record_task(conn: AsyncConnection, values: Row) -> bool:
    """True if the task is new (its id was never decided before)."""
    result = await conn.execute(
        insert(TASKS).values(**values).on_conflict_do_nothing().returning(TASKS.c.task_id)
    )
    return result.first() is not None


async def set_priorities(conn: AsyncConnection, priorities: Iterable[tuple[str, int]]) -> None:
    pairs = list(priorities)
    if not pairs:
        return
    await conn.execute(
        text(
            "UPDATE cs_cases c SET priority = t.p FROM unnest("
            "CAST(:ids AS text[]), CAST(:ps AS bigint[])) AS t(id, p) "
            "WHERE c.case_id = t.id AND c.priority <> t.p"
        ),
        {"ids": [p[0] for p in pairs], "ps": [p[1] for p in pairs]},
    )


async def start_run(conn: AsyncConnection, day: date, now: datetime) -> None:
    statement = insert(RUNS).values(run_date=day, started_at=now, runs=1)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["run_date"],
            set_={"runs": RUNS.c.runs + 1, "started_at": now, "finished_at": None},
        )
    )


async def finish_run(
    conn: AsyncConnection, day: date, now: datetime, cases: int, emitted: int
) -> None:
    await conn.execute(
        update(RUNS)
        .where(RUNS.c.run_date == day)
        .values(
            finished_at=now,
            cases_seen=cases,
            tasks_emitted=RUNS.c.tasks_emitted + emitted,
        )
    )


async def tasks_of(conn: AsyncConnection, case_id: str) -> list[Row]:
    result = await conn.execute(
        select(TASKS).where(TASKS.c.case_id == case_id).order_by(TASKS.c.created_at)
    )
    return [dict(r) for r in result.mappings()]


# --- KPIs -----------------------------------------------------------------------------


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def kpis(conn: AsyncConnection, start: date, end: date) -> Row:
    """Collections measures over [start, end), by strategy arm."""
    params = {"start": start, "end": end}
    moves = await conn.execute(
        text(
            "SELECT arm, strategy, from_bucket, to_bucket, count(*) AS n FROM cs_outcomes "
            "WHERE kind = 'bucket_move' AND on_date >= :start AND on_date < :end "
            "GROUP BY arm, strategy, from_bucket, to_bucket"
        ),
        params,
    )
    closures = await conn.execute(
        text(
            "SELECT arm, strategy, reason, count(*) AS n FROM cs_outcomes "
            "WHERE kind = 'closure' AND on_date >= :start AND on_date < :end "
            "GROUP BY arm, strategy, reason"
        ),
        params,
    )
    recovered = await conn.execute(
        text(
            "SELECT arm, strategy, sum(amount) AS total FROM cs_outcomes "
            "WHERE kind = 'payment' AND on_date >= :start AND on_date < :end "
            "GROUP BY arm, strategy"
        ),
        params,
    )
    promises = await conn.execute(
        text(
            "SELECT arm, strategy, status, count(*) AS n FROM cs_promises "
            "WHERE status <> 'open' AND resolved_on >= :start AND resolved_on < :end "
            "GROUP BY arm, strategy, status"
        ),
        params,
    )
    attempts = await conn.execute(
        text(
            "SELECT a.arm, a.strategy, count(*) AS n, "
            "count(*) FILTER (WHERE a.outcome = 'right_party_contact') AS rpc "
            "FROM cs_attempts a WHERE a.version IS NOT NULL AND NOT a.inbound "
            "AND a.occurred_at >= :start AND a.occurred_at < :end GROUP BY a.arm, a.strategy"
        ),
        {"start": _utc_midnight(start), "end": _utc_midnight(end)},
    )
    delinquent = await conn.execute(
        text(
            "SELECT arm, strategy, count(*) AS n FROM cs_cases "
            "WHERE opened_at < :end_ts AND (status = 'open' OR updated_at >= :start_ts) "
            "GROUP BY arm, strategy"
        ),
        {"start_ts": _utc_midnight(start), "end_ts": _utc_midnight(end)},
    )
    return {
        "moves": [dict(r) for r in moves.mappings()],
        "closures": [dict(r) for r in closures.mappings()],
        "recovered": [{**dict(r), "total": Decimal(r["total"] or 0)} for r in recovered.mappings()],
        "promises": [dict(r) for r in promises.mappings()],
        "attempts": [dict(r) for r in attempts.mappings()],
        "cases": [dict(r) for r in delinquent.mappings()],
    }
