"""Projections take every time from the events, never from a clock: a replay on any later day
builds the same read model as the live consumer did, and an event without a time is parked."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from arrears.messaging import Applier, Envelope
from contact_service.context import Context
from contact_service.projections import Projection
from contact_service.rebuild import reset
from sqlalchemy import text

from .conftest import START, Story


async def _apply(ctx: Context, consumer: str, envelopes: list[Envelope]) -> list[str]:
    applier = Applier(consumer, Projection(ctx.book, ctx.profile, ctx.emit).handle)
    items = [applier.prepare(e.to_json(), (e.subject or "").encode()) for e in envelopes]
    async with ctx.engine.begin() as conn:
        outcome = await applier.apply(conn, items, careful=True)
    return [parked.reason for parked in outcome.parked]


async def _read_model(ctx: Context) -> dict[str, Any]:
    async with ctx.engine.connect() as conn:
        cases = (await conn.execute(text("SELECT * FROM cs_cases ORDER BY case_id"))).mappings()
        tasks = await conn.execute(
            text("SELECT task_id, task_type, due_at, created_at, run_date FROM cs_tasks ORDER BY 1")
        )
        return {"cases": [dict(row) for row in cases], "tasks": [tuple(row) for row in tasks]}


def _lost_contact() -> Story:
    story = Story().delinquent("M2", days=40)
    lost_at = START + timedelta(hours=1)
    story.add("ContactLost", lost_at, as_of=lost_at.isoformat(), numbers_tried=3,
              times_of_day=["morning", "afternoon", "evening"], call_attempts=3,
              sms_sent=1)  # fmt: skip
    return story


async def test_a_replay_builds_the_same_read_model_with_the_events_own_times(
    ctx: Context,
) -> None:
    story = _lost_contact()
    assert await _apply(ctx, "live", story.events) == []
    live = await _read_model(ctx)

    async with ctx.engine.begin() as conn:
        await reset(conn)
        await conn.execute(text("DELETE FROM cs_tasks"))
    assert await _apply(ctx, "replay", story.events) == []
    replayed = await _read_model(ctx)

    assert replayed == live
    (case,) = live["cases"]
    assert case["opened_at"] == story.events[0].time
    assert case["updated_at"] == story.events[-1].time
    ((_, task_type, due_at, created_at, _),) = live["tasks"]
    assert task_type == "SkipTrace"
    assert due_at == created_at == story.events[-1].time


async def test_a_case_event_without_a_time_is_parked_not_stamped_with_today(
    ctx: Context,
) -> None:
    story = Story()
    untimed = dataclasses.replace(story.events[0], time=None)

    parked = await _apply(ctx, "live", [untimed])

    assert len(parked) == 1
    assert "has no time" in parked[0]
    assert (await _read_model(ctx))["cases"] == []
