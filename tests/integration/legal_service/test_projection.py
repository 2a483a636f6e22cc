"""Case events from the real broker into lg_cases: once, in order, and replay equals live."""

from __future__ import annotations

from typing import Any

from legal_service.context import Context
from legal_service.projections import fold
from sqlalchemy import text

from .conftest import (
    case_row,
    delinquent_history,
    eventually,
    publish,
    running_projection,
    seen,
)

COMPARED = (
    "currency", "principal", "outstanding", "status", "stage", "court", "docket_number",
    "claim_amount", "oldest_due_on", "limitation_runs_from", "limitation_expires_on",
    "has_guarantors", "has_collateral", "version",
)  # fmt: skip


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    state = dict(row["state"])
    state.pop("case_id")
    state.pop("loan_id")
    return {**{k: row[k] for k in COMPARED}, "state": state}


async def test_redelivered_events_change_nothing_twice(ctx: Context) -> None:
    history = delinquent_history()
    envelopes = history.envelopes
    settings = ctx.settings
    await publish(settings.kafka_bootstrap_servers, settings.case_events_topic, envelopes)
    await publish(settings.kafka_bootstrap_servers, settings.case_events_topic, envelopes)
    async with running_projection(ctx) as consumer:
        await eventually(lambda: seen(consumer, 2 * len(envelopes)))
        assert consumer.totals.applied == len(envelopes)
        assert consumer.totals.duplicates == len(envelopes)
        assert not consumer.totals.parked

    row = await case_row(ctx.engine, history.case_id)
    assert row is not None
    expected = fold.new_state(history.case_id)
    for e in envelopes:
        fold.apply(expected, e.event_name, e.data)
    assert row["state"] == expected
    assert row["version"] == len(envelopes)
    assert len(row["state"]["interruptions"]) == 2  # the promise, and the unproven demand
    assert str(row["limitation_expires_on"]) == "2027-01-15"  # from the promise (ack.)


async def test_replay_after_a_restart_equals_live(ctx: Context) -> None:
    live = delinquent_history()
    restarted = live.for_case("00000000-0000-4000-8000-" + live.case_id[-12:])
    settings = ctx.settings
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.case_events_topic
    half = len(restarted.envelopes) // 2

    await publish(bootstrap, topic, live.envelopes + restarted.envelopes[:half])
    async with running_projection(ctx) as consumer:
        await eventually(lambda: seen(consumer, len(live.envelopes) + half))

    # The service restarts; the rest arrives, with the first half redelivered before it.
    await publish(bootstrap, topic, restarted.envelopes)
    async with running_projection(ctx) as consumer:
        await eventually(lambda: seen(consumer, len(restarted.envelopes)))
        assert consumer.totals.applied == len(restarted.envelopes) - half

    a = await case_row(ctx.engine, live.case_id)
    b = await case_row(ctx.engine, restarted.case_id)
    assert a is not None
    assert b is not None
    assert comparable(a) == comparable(b)


async def test_an_event_for_a_case_never_opened_is_parked_and_the_rest_goes_on(
    ctx: Context,
) -> None:
    orphan = delinquent_history()
    fine = delinquent_history()
    settings = ctx.settings
    envelopes = [orphan.envelopes[1], *fine.envelopes]
    # version 2 of the orphan without version 1 is a hole; give it version 1 instead.
    bad = orphan.envelopes[1].__class__(**{**orphan.envelopes[1].__dict__, "caseversion": 1})
    envelopes[0] = bad
    await publish(settings.kafka_bootstrap_servers, settings.case_events_topic, envelopes)
    async with running_projection(ctx, retry_initial=0.01) as consumer:
        await eventually(lambda: seen(consumer, len(envelopes)))
        assert len(consumer.totals.parked) == 1
    assert await case_row(ctx.engine, orphan.case_id) is None
    assert await case_row(ctx.engine, fine.case_id) is not None
    async with ctx.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM lg_cases")) == 1


async def test_a_vanished_borrower_calls_for_asset_preservation_at_once_and_once(
    ctx: Context,
) -> None:
    history = delinquent_history()
    at = history.envelopes[-1].time
    assert at is not None
    history.add("ContactLost", at, as_of=at.date().isoformat(), numbers_tried=3,
                call_attempts=3, sms_sent=1, times_of_day=["morning"])  # fmt: skip
    history.add("FieldVisitMade", at, visited_at=at.isoformat(), address="x",
                outcome="moved_away", agent_id=None, notes=None)  # fmt: skip
    history.add("ContactLost", at, as_of=at.date().isoformat(), numbers_tried=4,
                call_attempts=4, sms_sent=1, times_of_day=["morning"])  # fmt: skip
    settings = ctx.settings
    await publish(settings.kafka_bootstrap_servers, settings.case_events_topic, history.envelopes)
    async with running_projection(ctx) as consumer:
        await eventually(lambda: seen(consumer, len(history.envelopes)))
    async with ctx.engine.connect() as conn:
        tasks = (await conn.execute(text("SELECT task_type FROM lg_tasks"))).scalars().all()
        outbox = await conn.scalar(text("SELECT count(*) FROM task_outbox"))
    assert tasks == ["ApplyForAssetPreservation"]
    assert outbox == 1
