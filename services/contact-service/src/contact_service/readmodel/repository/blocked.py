"""The supervisor's lists of open cases: those a lasting restriction keeps out of the queues,
and those placed with an agency."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.readmodel.repository.cases import Row

_BLOCKED = text(
    "SELECT c.case_id, c.loan_id, c.oldest_due_on, c.flags, c.in_dispute, c.open_complaints, "
    "c.priority FROM cs_cases c WHERE c.status = 'open' AND c.blocked "
    "ORDER BY c.priority DESC, c.case_id LIMIT :limit"
)


async def blocked_cases(conn: AsyncConnection, limit: int) -> list[Row]:
    result = await conn.execute(_BLOCKED, {"limit": limit})
    return [dict(r) for r in result.mappings()]


_PLACED = text(
    "SELECT c.case_id, c.loan_id, c.oldest_due_on, c.agency_id, c.arrears, c.currency "
    "FROM cs_cases c WHERE c.status = 'open' AND c.agency_id IS NOT NULL "
    "ORDER BY c.agency_id, c.priority DESC, c.case_id LIMIT :limit"
)


async def placed_cases(conn: AsyncConnection, limit: int) -> list[Row]:
    """Open cases placed with an external agency."""
    result = await conn.execute(_PLACED, {"limit": limit})
    return [dict(r) for r in result.mappings()]
