"""The daily run: each task once, however often it runs or wherever it was interrupted;
never due outside permitted hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from arrears.clock import ManualClock
from contact_service.context import Context
from contact_service.daily import run_daily
from sqlalchemy import text

from .conftest import START, Story, emitted, seed, token


def _portfolio() -> list[Story]:
    # Delinquent for 8 days (M1 entered 7 days ago): the SMS is past, the first call due.
    stories = [Story().delinquent("M1", days=3) for _ in range(3)]
    stories += [Story().delinquent("M2", days=35) for _ in range(3)]
    stories += [Story(tz="America/New_York").delinquent("M1", days=3)]
    stories += [Story()]  # current: no tasks
    return stories


async def _tasks(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT t.task_id, t.task_type, t.channel, t.due_at, c.timezone, t.strategy,"
                " t.strategy_version, t.arm FROM cs_tasks t JOIN cs_cases c USING (case_id)"
            )
        )
        return [dict(r._mapping) for r in rows]


async def test_running_twice_emits_each_task_once(ctx: Context) -> None:
    await seed(ctx, _portfolio())
    first = await run_daily(ctx)
    assert first.tasks_emitted > 0
    second = await run_daily(ctx)
    assert second.tasks_emitted == 0
    assert second.tasks_already_emitted == first.tasks_emitted
    sent = await emitted(ctx.engine)
    assert len(sent) == len({t[0] for t in sent}) == first.tasks_emitted
    # Every decision records its strategy and version.
    assert all(t["strategy"] and t["strategy_version"] >= 1 and t["arm"] for t in await _tasks(ctx))


async def test_a_run_interrupted_midway_and_run_again_emits_nothing_twice(ctx: Context) -> None:
    stories = _portfolio()
    await seed(ctx, stories)
    ctx.settings = ctx.settings.model_copy(update={"daily_run_batch": 2})
    with pytest.raises(RuntimeError, match="simulated crash"):
        await run_daily(ctx, stop_after_batches=2)
    partial = await emitted(ctx.engine)
    assert len(partial) > 0
    await run_daily(ctx)
    await run_daily(ctx)
    sent = await emitted(ctx.engine)
    assert len(sent) == len({t[0] for t in sent})
    assert {t[0] for t in partial} <= {t[0] for t in sent}


async def test_tasks_are_never_due_outside_permitted_hours(ctx: Context) -> None:
    await seed(ctx, _portfolio())
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(datetime(2026, 11, 2, 15, 30, tzinfo=UTC))  # 23:30 Shanghai, 10:30 New York
    await run_daily(ctx)
    tasks = await _tasks(ctx)
    assert tasks
    for task in tasks:
        if task["channel"] == "letter":
            continue
        local = task["due_at"].astimezone(ZoneInfo(task["timezone"])).time()
        assert 8 <= local.hour < 22, task
    calls = [
        t for t in tasks if t["task_type"] == "ScheduleCall" and t["timezone"] == "Asia/Shanghai"
    ]
    assert calls
    assert all(t["due_at"] == datetime(2026, 11, 3, 0, 0, tzinfo=UTC) for t in calls)


async def test_the_next_day_brings_new_tasks_not_old_ones_again(ctx: Context) -> None:
    await seed(ctx, _portfolio())
    await run_daily(ctx)
    day_one = {t[0] for t in await emitted(ctx.engine)}
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.advance(timedelta(days=2))
    await run_daily(ctx)
    day_three = [t[0] for t in await emitted(ctx.engine)]
    assert len(day_three) == len(set(day_three))
    assert day_one < set(day_three)  # day three adds (repeated calls), repeats nothing


async def test_a_forbidden_step_is_skipped(ctx: Context) -> None:
    story = Story().delinquent("M2", days=35)
    story.add(
        "ComplaintReceived",
        START,
        complaint_id="c-1",
        channel="phone",
        category="deceased",
        description="the borrower died",
        received_at=START.isoformat(),
    )
    await seed(ctx, [story])
    report = await run_daily(ctx)
    assert report.tasks_emitted == 0


async def test_the_daily_run_over_http_is_for_the_service_role(client: Any, ctx: Context) -> None:
    await seed(ctx, _portfolio())
    assert (await client.post("/v1/daily-runs", headers=token("collector"))).status_code == 403
    response = await client.post("/v1/daily-runs", headers=token("service"))
    assert response.status_code == 201, response.text
    assert response.json()["tasks_emitted"] > 0
    again = await client.post("/v1/daily-runs", headers=token("service"))
    assert again.json()["tasks_emitted"] == 0


async def test_tasks_reach_the_topic_once_across_runs_and_a_restart(ctx: Context) -> None:
    """The real task outbox and publisher: two runs and an interrupted one, each task on
    Kafka once, under its stable id."""
    from aiokafka import AIOKafkaConsumer
    from arrears.messaging import EnvelopeProducer, ProducerConfig, parse
    from arrears.outbox import TaskPublisher, create_outbox_tables
    from contact_service.wiring import task_emitter

    await create_outbox_tables(ctx.engine)
    ctx.emit = task_emitter(ctx)
    await seed(ctx, _portfolio())
    ctx.settings = ctx.settings.model_copy(update={"daily_run_batch": 3})
    with pytest.raises(RuntimeError, match="simulated crash"):
        await run_daily(ctx, stop_after_batches=1)
    await run_daily(ctx)
    await run_daily(ctx)
    bootstrap = ctx.settings.kafka_bootstrap_servers
    publisher = TaskPublisher(ctx.engine, EnvelopeProducer(ProducerConfig(bootstrap)))
    await publisher._producer.start()
    try:
        while await publisher.publish_pending():
            pass
    finally:
        await publisher._producer.stop()
    async with ctx.engine.connect() as conn:
        decided = int(await conn.scalar(text("SELECT count(*) FROM cs_tasks")) or 0)
    consumer = AIOKafkaConsumer(
        ctx.settings.contact_tasks_topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: list[Any] = []
    try:
        for _ in range(100):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.extend(parse(r.value) for r in records)
            if len(seen) >= decided:
                break
    finally:
        await consumer.stop()
    ids = [e.id for e in seen]
    assert len(ids) == decided == len(set(ids))
    assert {e.type for e in seen} <= {
        "collections.contact.SendReminder",
        "collections.contact.ScheduleCall",
        "collections.contact.DispatchFieldVisit",
    }
    call = next(e for e in seen if e.type.endswith("ScheduleCall"))
    assert call.data["strategy"]["name"]
    assert call.data["strategy"]["version"] >= 1
    assert "Li Wei" not in str(call.data)  # no more personal data than a call needs
