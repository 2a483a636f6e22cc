"""The projection's batch path (`Projection.handle_batch`, the consumer's and the rebuild's
fast path) leaves the same read model as applying the same events one at a time; a batch
with a poison event falls back to the careful path and parks it alone."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from arrears.messaging import Applier, Envelope
from arrears.messaging.processing import HandlerFailedError
from contact_service.context import Context
from contact_service.projections import Projection
from contact_service.rebuild import reset
from sqlalchemy import text

from .conftest import START, Story
from .test_kpi_counters import _same_as_the_scan, _stories

TABLES = {
    "cs_cases": "case_id",
    "cs_contact_points": "case_id, value",
    "cs_attempts": "fingerprint",
    "cs_promises": "promise_id",
    "cs_outcomes": "case_id, version",
    "cs_kpi_deltas": "measure, day, arm, strategy, k1, k2, n, amount",
    "cs_zones": "zone",
    "cs_tasks": "task_id",
}


async def _snapshot(ctx: Context) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with ctx.engine.connect() as conn:
        for table, order in TABLES.items():
            rows = await conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            out[table] = [{k: v for k, v in r.items() if k != "id"} for r in rows.mappings()]
        if out["cs_kpi_deltas"]:  # the batch may group a case's deltas: compare the sums
            sums = await conn.execute(text(
                "SELECT measure, day, arm, strategy, k1, k2, sum(n), sum(amount) FROM cs_kpi_deltas"
                " GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6"))  # fmt: skip
            out["cs_kpi_deltas"] = [tuple(r) for r in sums]
    return out


async def _apply(ctx: Context, events: list[Envelope], *, batch: bool, size: int) -> Any:
    projection = Projection(ctx.book, ctx.profile, ctx.emit, keys=ctx.keys)
    applier = Applier(
        consumer="cs-batch-" + uuid.uuid4().hex[:8],
        handler=projection.handle,
        batch_handler=projection.handle_batch if batch else None,
    )
    parked = []
    for at in range(0, len(events), size):
        items = [applier.prepare(e.to_json(), None) for e in events[at : at + size]]
        try:
            async with ctx.engine.begin() as conn:
                outcome = await applier.apply(conn, items, careful=False)
        except HandlerFailedError:  # as the consumer does: again, a savepoint per event
            async with ctx.engine.begin() as conn:
                outcome = await applier.apply(conn, items, careful=True)
        parked += outcome.parked
    return parked


def _interleaved(stories: list[Story]) -> list[Envelope]:
    """Cases interleaved as a partition delivers them, each case in version order."""
    rng = random.Random(7)
    queues = [list(s.events) for s in stories]
    out = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        out.append(queue.pop(0))
    return out


async def test_a_batch_leaves_the_read_model_one_event_at_a_time_leaves(ctx: Context) -> None:
    stories = _stories(random.Random(3), 40)
    lost = stories[1]
    lost.add("ContactLost", START, as_of=START.isoformat(), numbers_tried=3,
             times_of_day=["morning", "afternoon", "evening"], call_attempts=9, sms_sent=1)  # fmt: skip
    stories[2].add("ContactPointAdded", START, contact_point="+8613700000007", owner="employer",
                   kind="work", source="borrower", timezone="Asia/Tokyo",
                   added_at=START.isoformat(), channel_kind="phone")  # fmt: skip
    stories[3].add("DisputeRaised", START, reason="not mine", raised_at=START.isoformat())
    for k in range(5):  # calls on one case, and again on its number: one executemany run
        stories[4].attempt(START + timedelta(minutes=k), outcome="no_answer")
    events = _interleaved(stories)

    assert not await _apply(ctx, events, batch=False, size=1)
    one_by_one = await _snapshot(ctx)
    async with ctx.engine.begin() as conn:
        await reset(conn)
        await conn.execute(text("DELETE FROM cs_tasks"))
    assert await _snapshot(ctx) != one_by_one
    assert not await _apply(ctx, events, batch=True, size=150)
    assert await _snapshot(ctx) == one_by_one
    await _same_as_the_scan(ctx)


async def test_a_poison_event_in_a_batch_is_parked_alone(ctx: Context) -> None:
    good, bad = Story().delinquent(), Story().delinquent()
    bad.add("RiskGraded", START, grade="high")  # lacks its schema's required fields
    bad.attempt(START + timedelta(minutes=1), outcome="right_party_contact")
    parked = await _apply(ctx, [*good.events, *bad.events], batch=True, size=50)
    assert len(parked) == 1
    async with ctx.engine.connect() as conn:
        rows = await conn.execute(text("SELECT case_id, arrears, last_rpc_at FROM cs_cases"))
        cases = {r.case_id: r for r in rows}
    assert cases[good.case_id].arrears > 0
    assert cases[bad.case_id].last_rpc_at is not None  # the case went on after the parked one
