"""The KPIs' running counters (readmodel/tables.py `KpiCountRow`), kept by the projection in
the transaction that writes the rows they count.

Every change is a delta on a key, appended to `cs_kpi_deltas` (insert only: consumers in
several processes never wait for one another on a hot counter row, and never deadlock);
`readmodel.repository.runs.compact_kpis` folds the deltas into `cs_kpi_counts` (the KPI endpoint and the daily run, one at a
time under an advisory lock), and the KPIs sum both. The counters take nothing but the
events' own data (dates, arms), so a replay or a rebuild counts the same.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from contact_service.projections.store import Row

# measure, day, arm, strategy, k1, k2, n, amount
Delta = tuple[str, date, str, str, str, str, int, Decimal]

ADD = (
    "INSERT INTO cs_kpi_deltas (measure, day, arm, strategy, k1, k2, n, amount)"
    " SELECT measure, day, arm, strategy, k1, k2, sum(n), sum(amount) FROM unnest("
    "$1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],"
    " $8::numeric[]) AS t(measure, day, arm, strategy, k1, k2, n, amount)"
    " GROUP BY measure, day, arm, strategy, k1, k2"
    " HAVING sum(n) <> 0 OR sum(amount) <> 0"
)

# An outcome row and its counter in one round trip (only if the row is new).
OUTCOME = (
    "WITH o AS (INSERT INTO cs_outcomes (case_id, version, kind, on_date, from_bucket,"
    " to_bucket, amount, reason, strategy, arm)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
    " RETURNING kind, on_date, from_bucket, to_bucket, amount, reason, strategy, arm)"
    " INSERT INTO cs_kpi_deltas (measure, day, arm, strategy, k1, k2, n, amount)"
    " SELECT kind, on_date, coalesce(arm, ''), coalesce(strategy, ''),"
    " coalesce(from_bucket, reason, ''), coalesce(to_bucket, ''), 1, coalesce(amount, 0)"
    " FROM o"
)

# A promise resolved (kept or broken): the counter of its old resolution (if it had one)
# down, the new one up, in one statement.
RESOLVE_PROMISE = (
    "WITH old AS (SELECT promise_id, status, resolved_on FROM cs_promises"
    " WHERE promise_id = $1 FOR UPDATE),"
    " changed AS (UPDATE cs_promises p SET status = $2, resolved_on = $3 FROM old"
    " WHERE p.promise_id = old.promise_id"
    " RETURNING p.arm, p.strategy, old.status AS old_status, old.resolved_on AS old_on),"
    " deltas AS (SELECT old_on AS day, arm, strategy, old_status AS k1, -1 AS n FROM changed"
    " WHERE old_status <> 'open' AND old_on IS NOT NULL"
    " UNION ALL SELECT $3::date, arm, strategy, $2::text, 1 FROM changed)"
    " INSERT INTO cs_kpi_deltas (measure, day, arm, strategy, k1, k2, n, amount)"
    " SELECT 'promise', day, arm, strategy, k1, '', sum(n), 0 FROM deltas"
    " GROUP BY day, arm, strategy, k1 HAVING sum(n) <> 0"
)


def _utc_day(moment: Any) -> date:
    assert isinstance(moment, datetime)
    return moment.astimezone(UTC).date()


def case_key(row: Row) -> tuple[date, str, str, str, str]:
    """A case's place among the KPIs' delinquent cases: opened on, arm, strategy, and open, or
    closed with the day of its last change (the KPIs count a closed case in the periods it
    was still changing)."""
    status = "open" if row["status"] == "open" else "closed"
    last = "" if status == "open" else _utc_day(row["updated_at"]).isoformat()
    return (_utc_day(row["opened_at"]), row["arm"] or "", row["strategy"] or "", status, last)


def _open_alike(before: Row, after: Row) -> bool:
    """Both open, opened at the same moment, in the same arm and strategy: the same key."""
    return bool(
        before["status"] == after["status"] == "open"
        and before["opened_at"] == after["opened_at"]
        and before["arm"] == after["arm"]
        and before["strategy"] == after["strategy"]
    )


def case_deltas(before: Row | None, after: Row) -> list[Delta]:
    """The counter changes of a case row written (before: None for a new case)."""
    if before is not None and _open_alike(before, after):  # most events: no date to derive
        return []
    new = case_key(after)
    old = case_key(before) if before is not None else None
    if old == new:
        return []
    deltas: list[Delta] = [("case", *new, 1, Decimal(0))]
    if old is not None:
        deltas.append(("case", *old, -1, Decimal(0)))
    return deltas


def add_args(deltas: list[Delta]) -> list[list[Any]]:
    """ADD's arguments: one array per column."""
    return [list(column) for column in zip(*deltas, strict=True)] if deltas else [[]] * 8
