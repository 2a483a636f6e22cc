"""The promises list a supervisor reads: due within days, or resolved (kept, broken) on a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.readmodel.repository.cases import Row

_COLUMNS = (
    "p.promise_id, p.case_id, c.loan_id, c.oldest_due_on, p.amount, p.currency, "
    "p.promised_date, p.status, p.resolved_on, p.strategy, p.arm"
)


def _query(status: bool, due_from: bool, due_to: bool, resolved_on: bool) -> str:
    """The page of promises first (walking cs_promises_by_status_due or cs_promises_by_due
    in the list's order and stopping at the limit), then their cases joined to it alone."""
    where = [
        test
        for wanted, test in (
            (status, "status = :status"),
            (due_from, "promised_date >= :due_from"),
            (due_to, "promised_date <= :due_to"),
            (resolved_on, "resolved_on = :resolved_on"),
        )
        if wanted
    ]
    return (
        f"SELECT {_COLUMNS} FROM (SELECT * FROM cs_promises"  # noqa: S608 (fixed texts)
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY promised_date, case_id, promise_id LIMIT :limit) p"
        " JOIN cs_cases c ON c.case_id = p.case_id"
        " ORDER BY p.promised_date, p.case_id, p.promise_id"
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
    statement = _query(
        status is not None, due_from is not None, due_to is not None, resolved_on is not None
    )
    params = {
        "status": status,
        "due_from": due_from,
        "due_to": due_to,
        "resolved_on": resolved_on,
        "limit": limit,
    }
    result = await conn.execute(text(statement), {k: v for k, v in params.items() if v is not None})
    return [dict(r) for r in result.mappings()]
