"""`GET /v1/kpis` reads running counters the projection keeps (cs_kpi_counts): over a seeded
read model they give the same figures as the aggregates over the rows themselves, for every
period, after a redelivery, and after the case's later events move it between periods."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from contact_service.api.routes.kpis import summarise
from contact_service.context import Context
from contact_service.readmodel import repository as repo
from sqlalchemy import text

from .conftest import START, Story, seed, token

BUCKETS = ("M1", "M2", "M3", "M4+")


def _stories(rng: random.Random, n: int) -> list[Story]:
    stories = []
    for k in range(n):
        story = Story().delinquent(rng.choice(BUCKETS[:2]), days=rng.randint(2, 60))
        for _ in range(rng.randint(0, 3)):
            day = START - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
            story.attempt(day, outcome=rng.choice(["no_answer", "right_party_contact", "busy"]))
        if k % 3 == 0:
            at = START - timedelta(days=rng.randint(0, 20))
            story.add(
                "DelinquencyBucketChanged",
                at,
                from_bucket="M1",
                to_bucket="M2",
                days_past_due=31,
                as_of=at.date().isoformat(),
            )
        if k % 4 == 0:
            at = START - timedelta(days=rng.randint(0, 30))
            story.add(
                "PaymentReceived",
                at,
                amount=f"{rng.randint(1, 900)}.{rng.randint(0, 99):02d}",
                currency="CNY",
                paid_at=at.isoformat(),
                reference=f"r-{k}",
                allocations=[{"installment": "1", "amount": "1.00"}],
                promise_id=None,
            )
        if k % 5 == 0:
            made = START - timedelta(days=rng.randint(5, 30))
            due = made + timedelta(days=3)
            story.add(
                "PromiseToPayMade",
                made,
                promise_id=f"p-{story.case_id}",
                amount="100.00",
                currency="CNY",
                promised_date=due.date().isoformat(),
                made_at=made.isoformat(),
            )
            if k % 2:
                story.add(
                    "PromiseKept",
                    due,
                    promise_id=f"p-{story.case_id}",
                    kept_on=due.date().isoformat(),
                    amount="100.00",
                    currency="CNY",
                )
            else:
                story.add(
                    "PromiseBroken",
                    due + timedelta(days=1),
                    promise_id=f"p-{story.case_id}",
                    as_of=(due + timedelta(days=1)).date().isoformat(),
                    amount="100.00",
                    currency="CNY",
                    paid_amount="0.00",
                    promised_date=due.date().isoformat(),
                )
        if k % 7 == 0:
            at = START - timedelta(days=rng.randint(0, 30))
            story.add("CaseClosed", at, reason=rng.choice(["cured", "settled", "written_off"]),
                      closed_at=at.isoformat())  # fmt: skip
            if k % 2:  # a closed case changed again, later: it moves to that day's periods
                story.attempt(at + timedelta(days=3), outcome="no_answer")
                story.add("CaseReopened", at + timedelta(days=5), reason="payment reversed",
                          reopened_at=(at + timedelta(days=5)).isoformat())  # fmt: skip
        stories.append(story)
    return stories


def _periods() -> list[tuple[date, date]]:
    first = (START - timedelta(days=70)).date()
    days = [(first + timedelta(days=d), first + timedelta(days=d + 1)) for d in range(75)]
    weeks = [(first + timedelta(days=d), first + timedelta(days=d + 7)) for d in range(0, 75, 7)]
    return [*days, *weeks, (first, first + timedelta(days=80)), (START.date(), START.date())]


async def _same_as_the_scan(ctx: Context) -> None:
    async with ctx.engine.connect() as conn:
        for start, end in _periods():
            counted = summarise(await repo.kpis(conn, start, end))
            scanned = summarise(await repo.kpis_by_scan(conn, start, end))
            assert counted == scanned, (start, end)


async def test_the_counters_give_the_aggregates_figures_for_every_period(
    ctx: Context, client: Any
) -> None:
    stories = _stories(random.Random(14), 60)
    await seed(ctx, stories[:30])
    await _same_as_the_scan(ctx)  # deltas only
    async with ctx.engine.begin() as conn:
        assert await repo.compact_kpis(conn)
    await seed(ctx, stories[30:])
    await _same_as_the_scan(ctx)  # counters and deltas
    async with ctx.engine.begin() as conn:
        assert await repo.compact_kpis(conn)
    async with ctx.engine.connect() as conn:
        assert not (await conn.execute(text("SELECT count(*) FROM cs_kpi_deltas"))).scalar()
    await _same_as_the_scan(ctx)  # counters only
    async with ctx.engine.connect() as conn:
        whole = summarise(await repo.kpis(conn, date(2026, 8, 1), date(2026, 12, 1)))
    assert sum(arm["cases"] for arm in whole.values()) >= 60
    assert sum(arm["contact_attempts"] for arm in whole.values()) > 0
    assert sum(sum(arm["promises"].values()) for arm in whole.values()) > 0
    # Delivered again (as after a crash before the offsets were committed): counted once.
    await seed(ctx, stories[:10])
    await _same_as_the_scan(ctx)
    # The API answers from the counters, with the same contract.
    reply = await client.get("/v1/kpis?every=week", headers=token("supervisor"))
    assert reply.status_code == 200, reply.text
    assert reply.json()["by_arm"] == summarise(
        await _scan(
            ctx, date.fromisoformat(reply.json()["from"]), date.fromisoformat(reply.json()["to"])
        )
    )


async def _scan(ctx: Context, start: date, end: date) -> dict[str, Any]:
    async with ctx.engine.connect() as conn:
        return await repo.kpis_by_scan(conn, start, end)
