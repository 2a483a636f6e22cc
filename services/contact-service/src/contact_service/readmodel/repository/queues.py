"""Queries for the work queues and the leases on cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.readmodel.repository.cases import Row
from contact_service.readmodel.tables import (
    CLAIMS,
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
