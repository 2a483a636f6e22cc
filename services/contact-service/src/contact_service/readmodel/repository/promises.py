"""The promises list a supervisor reads: due within days, or resolved (kept, broken) on a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.readmodel.repository.cases import Row

_PROMISES = text(
    "SELECT p.promise_id, p.case_id, c.loan_id, c.oldest_due_on, p.amount, p.currency, "
    "p.promised_date, p.status, p.resolved_on, p.strategy, p.arm "
    "FROM cs_promises p JOIN cs_cases c ON c.case_id = p.case_id "
    "WHERE (CAST(:status AS text) IS NULL OR p.status = :status) "
    "AND (CAST(:due_from AS date) IS NULL OR p.promised_date >= :due_from) "
    "AND (CAST(:due_to AS date) IS NULL OR p.promised_date <= :due_to) "
    "AND (CAST(:resolved_on AS date) IS NULL OR p.resolved_on = :resolved_on) "
    "ORDER BY p.promised_date, p.case_id, p.promise_id LIMIT :limit"
)


async def promises(
    conn: AsyncConnection,
    *,
    status: str | None,
    due_from: date | None,
    due_to: date | None,
    resolved_on: date | None,
    limit: int,
) -> list[Row]:
    result = await conn.execute(
        _PROMISES,
        {
            "status": status,
            "due_from": due_from,
            "due_to": due_to,
            "resolved_on": resolved_on,
            "limit": limit,
        },
    )
    return [dict(r) for r in result.mappings()]
