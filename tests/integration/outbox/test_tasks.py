"""Tasks stored in a deciding transaction reach Kafka once each, in order, across outages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from arrears.messaging import EnvelopeProducer, ProducerConfig, parse
from arrears.outbox import TaskPublisher, emit_task
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.testing.names import unique_topic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def emit(engine: AsyncEngine, topic: str, task_id: str, case_id: str = "case-1") -> bool:
    async with engine.begin() as conn:
        return await emit_task(
            conn,
            topic=topic,
            event_type="collections.contact.ScheduleCall",
            task_id=task_id,
            subject=case_id,
            data={"task_id": task_id, "channel": "call"},
            source="/arrears/test",
            at=AT,
            correlation_id="corr-1",
        )


async def read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, str]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen: list[tuple[bytes, str]] = []
    try:
        async with asyncio.timeout(30):
            while len(seen) < expected:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    seen.extend((r.key, parse(r.value).id) for r in records)
        # Anything beyond what we expect would be a duplicate: give it a moment to show up.
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            seen.extend((r.key, parse(r.value).id) for r in records)
    finally:
        await consumer.stop()
    return seen


def publisher(engine: AsyncEngine, bootstrap: str) -> TaskPublisher:
    config = ProducerConfig(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    return TaskPublisher(engine, EnvelopeProducer(config))


async def test_a_task_decided_twice_is_published_once(
    engine: AsyncEngine, kafka_bootstrap_servers: str
) -> None:
    topic = unique_topic("tasks")
    assert await emit(engine, topic, "task-1") is True
    assert await emit(engine, topic, "task-1") is False
    sender = publisher(engine, kafka_bootstrap_servers)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        seen = await read_all(kafka_bootstrap_servers, topic, 1)
    finally:
        stop.set()
        await running

    assert seen == [(b"case-1", "task-1")]
    async with engine.connect() as conn:
        unpublished = "SELECT count(*) FROM task_outbox WHERE published_at IS NULL"
        assert await conn.scalar(text(unpublished)) == 0


async def test_tasks_wait_out_a_broker_outage_and_arrive_in_order(
    engine: AsyncEngine, embedded_broker: EmbeddedBroker
) -> None:
    topic = unique_topic("tasks")
    bootstrap = embedded_broker.bootstrap_servers
    embedded_broker.stop()
    for n in range(20):
        await emit(engine, topic, f"task-{n:02d}")
    sender = publisher(engine, bootstrap)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.sleep(2)  # the publisher keeps failing while the broker is away
        async with engine.connect() as conn:
            unpublished = "SELECT count(*) FROM task_outbox WHERE published_at IS NULL"
            assert await conn.scalar(text(unpublished)) == 20
        embedded_broker.start()
        seen = await read_all(bootstrap, topic, 20)
    finally:
        stop.set()
        await running

    assert [task_id for _, task_id in seen] == [f"task-{n:02d}" for n in range(20)]
