"""Queries for the work queues and the leases on cases."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from arrears.business_date import LAST_BUCKET, bucket_days
from sqlalchemy import delete, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.readmodel.repository.cases import Row
from contact_service.readmodel.tables import (
    CLAIMS,
)

# --- queues ---------------------------------------------------------------------------

# Each queue's bucket is days past due on today's business date, as case-service counts them
# (arrears.business_date): a range of the oldest unpaid due date, never a stored bucket that
# waits for the next event or the nightly aging.
BUCKET_QUEUES = {"m1": "M1", "m2": "M2", "m3": "M3", "m4plus": LAST_BUCKET}
QUEUES = {
    "all": "",
    **dict.fromkeys(BUCKET_QUEUES, ""),
    "lost-contact": "AND c.contactability = 'lost'",
    "promises-due": "AND c.open_promise_due IS NOT NULL",
}
# Written so the planner sees most rows pass the zone test: it then walks the priority index
# (cs_cases_queue; for a narrow bucket, cs_cases_queue_due and a sort) and stops after the page.
_QUEUE_SQL = """
    SELECT c.* FROM cs_cases c
    WHERE c.status = 'open' AND NOT c.blocked AND c.oldest_due_on IS NOT NULL
      AND c.oldest_due_on BETWEEN :due_from AND :due_to
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
_EARLIEST = date(1900, 1, 1)


def due_dates(queue: str, today: date) -> tuple[date, date]:
    """The oldest unpaid due dates (inclusive) of the queue's cases on the business `today`:
    at least one day past due, and within the bucket's days for a bucket queue."""
    lowest, highest = 1, None  # days past due
    bucket = BUCKET_QUEUES.get(queue)
    if bucket is not None:
        lowest, highest = bucket_days(bucket)
    latest = today - timedelta(days=lowest)
    earliest = _EARLIEST if highest is None else today - timedelta(days=highest)
    return earliest, latest


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
    today: date,
) -> list[Row]:
    """Open, unblocked, delinquent cases (on the business `today`) whose local time is within
    permitted hours, not leased to another collector, highest priority first."""
    due_from, due_to = due_dates(queue, today)
    result = await conn.execute(
        _QUEUE_QUERIES[queue],
        {
            "due_from": due_from,
            "due_to": due_to,
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
