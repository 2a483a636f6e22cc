"""The legal projection takes every time from the events, never from a clock: a replay on any
later day builds the same lg_cases as the live consumer did; an event without a time is parked."""

from __future__ import annotations

import dataclasses
from typing import Any

from arrears.messaging import Applier, Envelope
from arrears.messaging.tracking import create_tracking_tables
from legal_service.context import Context
from legal_service.projections.handlers import Projection, reset
from sqlalchemy import text

from .conftest import delinquent_history


async def _apply(ctx: Context, consumer: str, envelopes: list[Envelope]) -> list[str]:
    await create_tracking_tables(ctx.engine)
    applier = Applier(consumer, Projection(ctx.policy).handle)
    items = [applier.prepare(e.to_json(), (e.subject or "").encode()) for e in envelopes]
    async with ctx.engine.begin() as conn:
        outcome = await applier.apply(conn, items, careful=True)
    return [parked.reason for parked in outcome.parked]


async def _cases(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.engine.connect() as conn:
        rows = await conn.execute(text("SELECT * FROM lg_cases ORDER BY case_id"))
        return [dict(row) for row in rows.mappings()]


async def test_a_replay_builds_the_same_legal_view_with_the_events_own_times(
    ctx: Context,
) -> None:
    history = delinquent_history()
    assert await _apply(ctx, "live", history.envelopes) == []
    live = await _cases(ctx)

    async with ctx.engine.begin() as conn:
        await reset(conn)
    assert await _apply(ctx, "replay", history.envelopes) == []

    assert await _cases(ctx) == live
    (case,) = live
    changed = [e for e in history.envelopes if e.caseversion == case["version"]]
    assert case["updated_at"] == changed[0].time


async def test_a_case_event_without_a_time_is_parked_not_stamped_with_today(
    ctx: Context,
) -> None:
    untimed = dataclasses.replace(delinquent_history().envelopes[0], time=None)

    parked = await _apply(ctx, "live", [untimed])

    assert len(parked) == 1
    assert "has no time" in parked[0]
    assert await _cases(ctx) == []
