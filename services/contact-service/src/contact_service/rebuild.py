"""Rebuilding the read models from case-service's feed (`python -m contact_service rebuild`).

What comes from the case events is dropped and replayed through the same projection the
consumer runs (`arrears.messaging.rebuild`), each page folded in memory and written a table
at a time (`projections.fold`; a page that fails is applied again event by event), its
personal fields opened while the page before is applied (`PageFold.open_ahead`). What was
decided here is kept: leases, tasks (their ids stay emitted), daily runs, attempts still on
their way to case-service, and the restrictions log, which is applied again in order at the
end. Stop the service's consumer
while it runs; afterwards the consumer carries on from its offsets without doubling.
"""

from __future__ import annotations

from arrears.messaging import Applier, RebuildReport, rebuild
from arrears.messaging.rebuild import Pages
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.context import Context
from contact_service.policy.guard import local_date
from contact_service.projections import Projection
from contact_service.projections.fold import PageFold
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo

FROM_EVENTS = (
    "DELETE FROM cs_cases",
    "DELETE FROM cs_contact_points",
    "DELETE FROM cs_attempts WHERE version IS NOT NULL",
    "DELETE FROM cs_promises",
    "DELETE FROM cs_outcomes",
    "DELETE FROM cs_zones",
    "DELETE FROM cs_kpi_counts",
    "DELETE FROM cs_kpi_deltas",
)


async def reset(conn: AsyncConnection) -> None:
    for statement in FROM_EVENTS:
        await conn.execute(text(statement))


async def rebuild_read_models(
    ctx: Context, feed: Pages, *, page_size: int = 10_000
) -> RebuildReport:
    projection = Projection(
        ctx.book, ctx.profile, ctx.emit, ctx.settings.business_timezone, keys=ctx.keys
    )
    fold = PageFold(projection)
    applier = Applier(
        consumer=ctx.settings.consumer_group,
        handler=projection.handle,
        batch_handler=fold.handle_batch,
    )
    report = await rebuild(
        ctx.engine, applier, feed, reset, page_size=page_size, prepare=fold.open_ahead
    )
    await reapply_restrictions(ctx)
    return report


async def reapply_restrictions(ctx: Context) -> int:
    """The restrictions log, in order, onto the rebuilt cases (unknown cases skipped)."""
    async with ctx.engine.begin() as conn:
        entries = await repo.restrictions_in_order(conn)
        touched: set[str] = set()
        for entry in entries:
            await repo.apply_restriction(
                conn,
                entry["case_id"],
                entry["kind"],
                entry["active"],
                entry["channel"],
                entry["contact_point"],
            )
            touched.add(entry["case_id"])
        for case_id in sorted(touched):
            row = await repo.get_case(conn, case_id)
            if row is not None:
                today = local_date(ctx.clock.now(), row["timezone"])
                await repo.refresh_derived(
                    conn, row, derive.blocked(row, ctx.profile_of(row.get("jurisdiction"))), today
                )
    return len(entries)
