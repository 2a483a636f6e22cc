"""Every query legal-service makes of its own database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arrears.db import driver
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from legal_service.policy.model import EnforcementOutcome
from legal_service.readmodel.tables import (
    ASSIGNMENTS,
    CASES,
    COSTS,
    ENFORCEMENT_OUTCOMES,
    SIGNALS,
    TASKS,
)
from legal_service.readmodel.view import Local

RECORD_NAMESPACE = uuid.UUID("0c9f4e1a-3b27-5d6c-8e0f-71a2b4c6d8e9")

# The stage an officer sees: the events' stage, or referred_to_legal once legal-service
# referred a case not yet in court.
STAGE_SQL = (
    "CASE WHEN c.stage IN ('none', 'demand_served') AND a.referred_on IS NOT NULL"
    " THEN 'referred_to_legal' ELSE c.stage END"
)


def record_id(case_id: str, kind: str, idempotency_key: str) -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{case_id}/{kind}/{idempotency_key}"))


async def case_state(conn: AsyncConnection, case_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(select(CASES.c.state, CASES.c.version).where(CASES.c.case_id == case_id))
    ).first()
    if row is None:
        return None
    state: dict[str, Any] = dict(row.state)
    state["_version"] = row.version
    return state


async def locals_for(conn: AsyncConnection, case_ids: Sequence[str]) -> dict[str, Local]:
    """legal-service's own records of these cases, in three small queries."""
    ids = list(case_ids)
    found = {c: Local() for c in ids}
    if not ids:
        return found
    for row in await conn.execute(
        select(ASSIGNMENTS.c.case_id, ASSIGNMENTS.c.officer, ASSIGNMENTS.c.referred_on).where(
            ASSIGNMENTS.c.case_id.in_(ids)
        )
    ):
        found[row.case_id].officer, found[row.case_id].referred_on = row.officer, row.referred_on
    for row in await conn.execute(
        select(ENFORCEMENT_OUTCOMES)
        .where(ENFORCEMENT_OUTCOMES.c.case_id.in_(ids))
        .order_by(ENFORCEMENT_OUTCOMES.c.ended_on, ENFORCEMENT_OUTCOMES.c.recorded_at)
    ):
        found[row.case_id].enforcement_outcome = EnforcementOutcome(
            row.outcome, Decimal(row.recovered_amount), row.ended_on
        )
    signals: dict[str, set[str]] = {}
    for signal in await conn.execute(
        select(SIGNALS.c.case_id, SIGNALS.c.kind).where(SIGNALS.c.case_id.in_(ids))
    ):
        signals.setdefault(signal.case_id, set()).add(signal.kind)
    for case_id, kinds in signals.items():
        found[case_id].signals = frozenset(kinds)
    return found


async def open_cases(
    conn: AsyncConnection, after: str, limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """A page of open cases (keyset by case id) with their state, for the daily run."""
    rows = await conn.execute(
        select(CASES.c.case_id, CASES.c.state)
        .where(CASES.c.status == "open", CASES.c.case_id > after)
        .order_by(CASES.c.case_id)
        .limit(limit)
    )
    return [(r.case_id, dict(r.state)) for r in rows]


@dataclass(frozen=True)
class PipelineFilter:
    stage: str | None = None
    court: str | None = None
    officer: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None


_PIPELINE_COLUMNS = (
    "c.case_id, c.loan_id, c.currency, c.outstanding, c.claim_amount, c.court,"
    " c.docket_number, c.status, c.limitation_expires_on, c.oldest_due_on,"
    f" c.has_guarantors, c.has_collateral, a.officer, {STAGE_SQL} AS stage"
)


async def pipeline(
    conn: AsyncConnection, where: PipelineFilter, after: str, limit: int
) -> list[dict[str, Any]]:
    """Cases on the legal track (stage other than none), filtered, keyset-paginated by id."""
    clauses = ["c.case_id > :after"]
    params: dict[str, Any] = {"after": after, "limit": limit}
    if where.stage is not None:
        clauses.append(f"{STAGE_SQL} = :stage")
        params["stage"] = where.stage
    else:
        clauses.append(f"{STAGE_SQL} <> 'none'")
    if where.court is not None:
        clauses.append("c.court = :court")
        params["court"] = where.court
    if where.officer is not None:
        clauses.append("a.officer = :officer")
        params["officer"] = where.officer
    if where.min_amount is not None:
        clauses.append("COALESCE(c.claim_amount, c.outstanding) >= :min_amount")
        params["min_amount"] = where.min_amount
    if where.max_amount is not None:
        clauses.append("COALESCE(c.claim_amount, c.outstanding) <= :max_amount")
        params["max_amount"] = where.max_amount
    sql = (
        f"SELECT {_PIPELINE_COLUMNS} FROM lg_cases c"  # noqa: S608 (fixed fragments only)
        " LEFT JOIN lg_assignments a ON a.case_id = c.case_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY c.case_id LIMIT :limit"
    )
    return [dict(r) for r in (await conn.execute(text(sql), params)).mappings()]


_LIMITATIONS = (
    "SELECT c.case_id, c.loan_id, c.currency, c.outstanding, c.oldest_due_on,"
    " c.limitation_runs_from, c.limitation_expires_on, c.stage, a.officer, a.referred_on"
    " FROM lg_cases c LEFT JOIN lg_assignments a ON a.case_id = c.case_id"
    " WHERE c.status = 'open' AND c.stage IN ('none', 'demand_served')"
    " AND c.limitation_expires_on IS NOT NULL AND c.limitation_expires_on <= $1"
    " AND (c.limitation_expires_on, c.case_id) > ($2, $3)"
    " ORDER BY c.limitation_expires_on, c.case_id LIMIT $4"
)


async def limitations(
    conn: AsyncConnection, until: date, after: tuple[date, str], limit: int
) -> list[Any]:
    """Open cases not in court whose limitation expires on or before `until` (expired ones
    first), soonest first; keyset-paginated on (expiry, case id). asyncpg records (the
    report can be thousands of rows: no result wrapping)."""
    raw = await driver(conn)
    rows: list[Any] = await raw.fetch(_LIMITATIONS, until, after[0], after[1], limit)
    return rows


async def count_limitations(conn: AsyncConnection, until: date) -> int:
    result = await conn.execute(
        text(
            "SELECT count(*) FROM lg_cases c WHERE c.status = 'open'"
            " AND c.stage IN ('none', 'demand_served') AND c.limitation_expires_on IS NOT NULL"
            " AND c.limitation_expires_on <= :until"
        ),
        {"until": until},
    )
    return int(result.scalar_one())


async def tasks_of(conn: AsyncConnection, case_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(TASKS).where(TASKS.c.case_id == case_id).order_by(TASKS.c.emitted_at)
    )
    return [dict(r) for r in rows.mappings()]


async def stored_record(conn: AsyncConnection, kind: str, record_id: str) -> dict[str, Any] | None:
    """The record kept under this id (`kind`: cost, enforcement-outcome, signal)."""
    table = {"cost": COSTS, "enforcement-outcome": ENFORCEMENT_OUTCOMES, "signal": SIGNALS}[kind]
    key = table.primary_key.columns.values()[0]
    row = (await conn.execute(select(table).where(key == record_id))).mappings().first()
    return dict(row) if row else None


async def add_cost(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert once per cost id (case + Idempotency-Key); False when it was recorded before."""
    result = await conn.execute(
        insert(COSTS).values(**values).on_conflict_do_nothing().returning(COSTS.c.cost_id)
    )
    return result.first() is not None


async def add_enforcement_outcome(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    result = await conn.execute(
        insert(ENFORCEMENT_OUTCOMES)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(ENFORCEMENT_OUTCOMES.c.outcome_id)
    )
    return result.first() is not None


async def add_signal(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    result = await conn.execute(
        insert(SIGNALS).values(**values).on_conflict_do_nothing().returning(SIGNALS.c.signal_id)
    )
    return result.first() is not None


async def assign(
    conn: AsyncConnection,
    case_id: str,
    now: datetime,
    *,
    officer: str | None = None,
    referred_on: date | None = None,
    keep: bool = False,
) -> None:
    """Set the officer (with `keep`, only if none) and/or the referral date (the first is
    kept)."""
    statement = insert(ASSIGNMENTS).values(
        case_id=case_id, officer=officer, referred_on=referred_on, updated_at=now
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["case_id"],
            set_={
                "officer": func.coalesce(ASSIGNMENTS.c.officer, statement.excluded.officer)
                if keep
                else func.coalesce(statement.excluded.officer, ASSIGNMENTS.c.officer),
                "referred_on": func.coalesce(
                    ASSIGNMENTS.c.referred_on, statement.excluded.referred_on
                ),
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
