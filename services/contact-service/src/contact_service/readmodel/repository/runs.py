"""Queries of the daily run (tasks, priorities) and of the KPIs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.readmodel.repository.cases import Row
from contact_service.readmodel.tables import (
    CASES,
    RUNS,
    TASKS,
)

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


_COUNTED = text(
    "SELECT measure, arm, strategy,"
    " CASE WHEN measure = 'case' THEN '' ELSE k1 END AS k1,"
    " CASE WHEN measure = 'case' THEN '' ELSE k2 END AS k2,"
    " sum(n) AS n, sum(amount) AS amount FROM ("
    "SELECT measure, day, arm, strategy, k1, k2, n, amount FROM cs_kpi_counts UNION ALL "
    "SELECT measure, day, arm, strategy, k1, k2, n, amount FROM cs_kpi_deltas) AS t"
    " WHERE (measure <> 'case' AND day >= :start AND day < :end)"
    " OR (measure = 'case' AND day < :end AND (k1 = 'open' OR k2 >= :start_iso))"
    " GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0"
)


# The deltas committed so far, folded into the counters (their rows locked by the DELETE:
# a delta is moved once, whoever else compacts).
_COMPACT = (
    "WITH moved AS (DELETE FROM cs_kpi_deltas"
    " RETURNING measure, day, arm, strategy, k1, k2, n, amount)"
    " INSERT INTO cs_kpi_counts (measure, day, arm, strategy, k1, k2, n, amount)"
    " SELECT measure, day, arm, strategy, k1, k2, sum(n), sum(amount) FROM moved"
    " GROUP BY measure, day, arm, strategy, k1, k2"
    " ON CONFLICT (measure, day, arm, strategy, k1, k2) DO UPDATE"
    " SET n = cs_kpi_counts.n + EXCLUDED.n, amount = cs_kpi_counts.amount + EXCLUDED.amount"
)
_COMPACT_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('cs_kpi_counts'))"


async def compact_kpis(conn: AsyncConnection) -> bool:
    """Fold the KPI deltas into the counters, unless another transaction is doing it now."""
    if not (await conn.execute(text(_COMPACT_LOCK))).scalar():
        return False
    await conn.execute(text(_COMPACT))
    return True


async def kpis(conn: AsyncConnection, start: date, end: date) -> Row:
    """Collections measures over [start, end), by strategy arm, from the running counters
    the projection keeps (cs_kpi_counts): the same figures as `kpis_by_scan`, reading a few
    rows a day instead of every outcome, promise, attempt and case."""
    result = await conn.execute(
        _COUNTED, {"start": start, "end": end, "start_iso": start.isoformat()}
    )
    raw: Row = {
        "moves": [],
        "closures": [],
        "recovered": [],
        "promises": [],
        "attempts": [],
        "cases": [],
    }
    for r in result.mappings():
        who = {"arm": r["arm"], "strategy": r["strategy"]}
        n, measure = int(r["n"]), r["measure"]
        if measure == "bucket_move":
            raw["moves"].append({**who, "from_bucket": r["k1"], "to_bucket": r["k2"], "n": n})
        elif measure == "closure":
            raw["closures"].append({**who, "reason": r["k1"], "n": n})
        elif measure == "payment":
            raw["recovered"].append({**who, "total": Decimal(r["amount"] or 0)})
        elif measure == "promise":
            raw["promises"].append({**who, "status": r["k1"], "n": n})
        elif measure == "attempt":
            raw["attempts"].append({**who, "n": n, "rpc": n if r["k1"] == "rpc" else 0})
        elif measure == "case":
            raw["cases"].append({**who, "n": n})
    return raw


async def kpis_by_scan(conn: AsyncConnection, start: date, end: date) -> Row:
    """The same measures aggregated from the rows themselves (what `kpis` answered before
    the counters; tests compare the two, and an operator can check the counters with it)."""
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
