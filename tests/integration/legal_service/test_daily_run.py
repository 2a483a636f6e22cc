"""The daily run emits each legal task once, across reruns, restarts and publishing."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import orjson
from arrears.clock import ManualClock
from arrears.messaging import EnvelopeProducer, ProducerConfig
from arrears.outbox import TaskPublisher
from legal_service.context import Context
from legal_service.daily import run_daily
from sqlalchemy import text

from .conftest import apply_directly, delinquent_history, read_topic

EXPIRY = date(2027, 1, 15)  # of delinquent_history(): three years from the promise


async def publish_all(ctx: Context) -> int:
    producer = EnvelopeProducer(ProducerConfig(ctx.settings.kafka_bootstrap_servers))
    publisher = TaskPublisher(ctx.engine, producer)
    await producer.start()
    try:
        return await publisher.publish_pending()
    finally:
        await producer.stop()


async def test_every_task_is_emitted_once_across_restarts(ctx: Context) -> None:
    histories = [delinquent_history() for _ in range(3)]
    await apply_directly(ctx, [e for h in histories for e in h.envelopes])
    at = datetime.combine(EXPIRY - timedelta(days=170), datetime.min.time()).replace(
        tzinfo=ctx.clock.now().tzinfo
    )
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(at)

    first = await run_daily(ctx)
    assert first.cases_seen == 3
    # Per case: LimitationExpiring(180), PrepareDemandLetter, ReferToLegal, DemandFromGuarantor.
    assert first.by_type == {
        "LimitationExpiring": 3,
        "PrepareDemandLetter": 3,
        "ReferToLegal": 3,
        "DemandFromGuarantor": 3,
    }
    assert await publish_all(ctx) == 12

    # The service restarts (a new context and engine) and the run is repeated, twice.
    restarted = Context.build(ctx.settings, ctx.clock)
    try:
        again = await run_daily(restarted)
        assert again.tasks_emitted == 0
        assert again.tasks_already_emitted == 9  # referral is not recommended again
        assert (await run_daily(restarted)).tasks_emitted == 0
        assert await publish_all(restarted) == 0

        # 90 days before expiry: a new band, new task ids, each once.
        ctx.clock.set(at + timedelta(days=80))
        later = await run_daily(restarted)
        assert later.by_type == {"LimitationExpiring": 3, "PrepareDemandLetter": 3}
        assert (await run_daily(restarted)).tasks_emitted == 0
        assert await publish_all(restarted) == 6
    finally:
        await restarted.engine.dispose()

    records = await read_topic(
        ctx.settings.kafka_bootstrap_servers, ctx.settings.legal_tasks_topic, expected=18
    )
    ids = Counter(orjson.loads(r.value)["id"] for r in records)
    assert len(ids) == 18
    assert set(ids.values()) == {1}
    task = orjson.loads(records[0].value)
    assert task["type"].startswith("collections.legal.")
    assert task["source"] == "/arrears/legal-service"
    assert task["data"]["task_id"] == task["id"]
    async with ctx.engine.connect() as conn:
        referred = await conn.scalar(
            text("SELECT count(*) FROM lg_assignments WHERE referred_on IS NOT NULL")
        )
    assert referred == 3
