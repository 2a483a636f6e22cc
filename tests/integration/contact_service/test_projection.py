"""Case events from the real broker into the read models: once each, whatever Kafka does."""

from __future__ import annotations

import random
from datetime import timedelta

from contact_service.context import Context
from contact_service.policy import model as m
from contact_service.readmodel import repository as repo
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import START, Story, emitted, eventually, publish, running_projection


def _stories() -> list[Story]:
    a = Story().delinquent("M1", days=5)
    a.add("RiskGraded", START, grade="high", score=45, factors={}, as_of=START.date().isoformat())
    a.attempt(START + timedelta(minutes=5), outcome="wrong_number", point="+8613800000002")
    a.attempt(START + timedelta(minutes=10), outcome="right_party_contact")
    a.add(
        "PromiseToPayMade",
        START + timedelta(minutes=11),
        promise_id="p-1",
        amount="600.00",
        currency="CNY",
        promised_date=(START + timedelta(days=3)).date().isoformat(),
        made_at=(START + timedelta(minutes=11)).isoformat(),
    )
    b = Story().delinquent("M2", days=40, amount="2400.00")
    b.add(
        "PaymentReceived",
        START,
        amount="400.00",
        currency="CNY",
        paid_at=START.isoformat(),
        reference="r-1",
        allocations=[{"installment": "1", "amount": "400.00"}],
        promise_id=None,
    )
    b.add(
        "ContactLost",
        START + timedelta(hours=1),
        as_of=(START + timedelta(hours=1)).isoformat(),
        numbers_tried=3,
        times_of_day=["morning", "afternoon", "evening"],
        call_attempts=3,
        sms_sent=1,
    )
    b.add(
        "ComplaintReceived",
        START + timedelta(hours=2),
        complaint_id="c-1",
        channel="phone",
        category="do_not_contact",
        description="stop calling",
        received_at=(START + timedelta(hours=2)).isoformat(),
    )
    return [a, b]


async def _snapshot(engine: AsyncEngine) -> dict[str, object]:
    async with engine.connect() as conn:
        cases = await conn.execute(
            text(
                "SELECT case_id, version, bucket, arrears, risk_grade, contactability, flags,"
                " open_promise_id, blocked, last_rpc_at, priority FROM cs_cases ORDER BY case_id"
            )
        )
        attempts = await conn.execute(
            text("SELECT case_id, version, outcome FROM cs_attempts ORDER BY case_id, version")
        )
        points = await conn.execute(
            text("SELECT case_id, value, state FROM cs_contact_points ORDER BY case_id, value")
        )
        outcomes = await conn.execute(
            text("SELECT case_id, version, kind FROM cs_outcomes ORDER BY case_id, version")
        )
        tasks = await conn.execute(text("SELECT task_id, task_type FROM cs_tasks ORDER BY 1"))
        return {
            "cases": [tuple(r) for r in cases],
            "attempts": [tuple(r) for r in attempts],
            "points": [tuple(r) for r in points],
            "outcomes": [tuple(r) for r in outcomes],
            "tasks": [tuple(r) for r in tasks],
        }


async def _applied(engine: AsyncEngine, expected: int) -> bool:
    async with engine.connect() as conn:
        total = await conn.scalar(
            text("SELECT coalesce(sum(version), 0) FROM consumer_subject_versions")
        )
    return int(total or 0) >= expected


async def test_projects_case_events_from_the_broker(ctx: Context) -> None:
    a, b = _stories()
    await publish(
        ctx.settings.kafka_bootstrap_servers, ctx.settings.case_events_topic, a.events + b.events
    )
    async with running_projection(ctx):
        await eventually(lambda: _applied(ctx.engine, a.version + b.version))
    async with ctx.engine.connect() as conn:
        first = await repo.get_case(conn, a.case_id)
        second = await repo.get_case(conn, b.case_id)
        points = await repo.points_of(conn, [a.case_id])
    assert first is not None
    assert second is not None
    assert (first["bucket"], str(first["arrears"]), first["risk_grade"]) == (
        "M1",
        "1200.00",
        "high",
    )
    assert first["open_promise_id"] == "p-1"
    assert first["last_rpc_at"] == START + timedelta(minutes=10)
    states = {p["value"]: p["state"] for p in points[a.case_id]}  # keyed by blind index
    assert states[m.point_key("+8613800000002")] == "wrong_number"
    assert "+8613800000002" not in str(points)  # no number in clear
    assert (second["bucket"], str(second["arrears"])) == ("M2", "2000.00")
    assert second["contactability"] == "lost"
    assert second["flags"] == ["do_not_contact"]
    assert second["blocked"]
    # ContactLost sent one skip-trace task out.
    assert [t[1] for t in await emitted(ctx.engine)] == ["SkipTrace"]


async def test_redelivered_and_reordered_events_change_nothing_twice(
    ctx: Context, engine: AsyncEngine
) -> None:
    a, b = _stories()
    # Interleave the two cases differently (each case in its own order), then redeliver all.
    rng = random.Random(7)
    merged = []
    left, right = list(a.events), list(b.events)
    while left or right:
        pick = left if (left and (not right or rng.random() < 0.5)) else right
        merged.append(pick.pop(0))
    topic = ctx.settings.case_events_topic
    await publish(ctx.settings.kafka_bootstrap_servers, topic, merged)
    async with running_projection(ctx) as consumer:
        await eventually(lambda: _applied(engine, a.version + b.version))
        once = await _snapshot(engine)
        await publish(ctx.settings.kafka_bootstrap_servers, topic, list(reversed(merged)) + merged)
        await eventually(
            lambda: _seen(consumer, 3 * len(merged)),
        )
        assert consumer.totals.applied == len(merged)
        assert consumer.totals.duplicates == 2 * len(merged)
    assert await _snapshot(engine) == once
    assert len(await emitted(engine)) == 1  # the skip-trace task: once


async def _seen(consumer: object, n: int) -> bool:
    totals = consumer.totals  # type: ignore[attr-defined]
    return bool(totals.applied + totals.duplicates + len(totals.parked) >= n)
