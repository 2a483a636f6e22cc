"""The idempotent consumer: exactly-once effects, order per case, DLQ, gap filling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
from arrears.messaging import (
    ConsumerConfig,
    Envelope,
    EnvelopeProducer,
    FeedClient,
    IdempotentConsumer,
    ProducerConfig,
)
from case_service.api.app import create_app
from case_service.application import CaseApplication
from case_service.relay import CaseEventEncoder, RelaySettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .conftest import (
    Workload,
    eventually,
    read_model,
    read_topic,
    recording_handler,
    running_relay,
    service_token,
    store_events,
)

Handler = Callable[[AsyncConnection, Envelope], Awaitable[None]]


def feed_client(settings: RelaySettings, cases: CaseApplication) -> FeedClient:
    app = create_app(settings, application=cases)
    app.state.cases = cases  # the ASGI transport runs no lifespan
    transport = httpx.ASGITransport(app=app)
    return FeedClient("http://case-service", service_token(), transport=transport)


@contextlib.asynccontextmanager
async def running_consumer(
    settings: RelaySettings,
    engine: AsyncEngine,
    name: str,
    handler: Handler | None = None,
    gaps: FeedClient | None = None,
    **config: Any,
) -> AsyncIterator[IdempotentConsumer]:
    consumer = IdempotentConsumer(
        ConsumerConfig(
            name=name,
            topics=[settings.relay_topic],
            bootstrap_servers=settings.kafka_bootstrap_servers,
            **config,
        ),
        engine,
        handler or recording_handler(name),
        gaps=gaps,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def test_applies_every_event_once_in_order_per_case(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    await asyncio.to_thread(workload.portfolio, 8, 3)
    stored = store_events(cases)
    async with (
        running_relay(relay_settings, cases),
        running_consumer(relay_settings, read_model_engine, "c-once") as consumer,
    ):
        await eventually(lambda: _count(read_model_engine, "c-once", len(stored)), timeout=30)
        assert consumer.totals.duplicates == 0
    rows = await read_model(read_model_engine, "c-once")
    assert sorted(rows, key=lambda r: r[2]) == [(c, v, s) for c, v, s in stored]


async def _count(engine: AsyncEngine, consumer: str, expected: int) -> bool:
    return len(await read_model(engine, consumer)) >= expected


async def test_redelivered_events_change_nothing(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    await asyncio.to_thread(workload.portfolio, 3, 2)
    stored = store_events(cases)
    async with running_relay(relay_settings, cases):
        await eventually(lambda: _published(cases, stored[-1][2]))
    with cases.recorder_.datastore.transaction(commit=True) as curs:
        curs.execute("DELETE FROM relay_position")  # the relay forgets: everything again
    async with running_relay(relay_settings, cases):
        await eventually(lambda: _published(cases, stored[-1][2]))
    assert len(
        await read_topic(
            relay_settings.kafka_bootstrap_servers,
            relay_settings.relay_topic,
            expected=2 * len(stored),
        )
    ) == 2 * len(stored)

    async with running_consumer(relay_settings, read_model_engine, "c-dup") as consumer:
        await eventually(lambda: _seen(consumer, 2 * len(stored)))
        assert consumer.totals.applied == len(stored)
        assert consumer.totals.duplicates == len(stored)
    assert len(await read_model(read_model_engine, "c-dup")) == len(stored)


async def _published(cases: CaseApplication, position: int) -> bool:
    from .test_relay import saved_position

    return await asyncio.to_thread(saved_position, cases) >= position


async def _seen(consumer: IdempotentConsumer, n: int) -> bool:
    t = consumer.totals
    return t.applied + t.duplicates + len(t.parked) >= n


async def test_poison_goes_to_the_dlq_and_the_rest_is_processed(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    topic = relay_settings.relay_topic
    await asyncio.to_thread(workload.portfolio, 1, 3)
    stored = store_events(cases)
    envelopes = CaseEventEncoder(cases.mapper).envelopes(
        cases.recorder.select_notifications(start=1, limit=100)
    )
    producer = EnvelopeProducer(ProducerConfig(relay_settings.kafka_bootstrap_servers))
    await producer.start()
    key = (envelopes[0].subject or "").encode()
    origin = [("correlation-id", b"corr-poison")]
    await producer.publish_raw(topic, [(key, b"{not json", origin)])
    await producer.publish(topic, envelopes[:2])
    unknown = {**envelopes[2].to_dict(), "type": "collections.case.Unheard"}
    await producer.publish_raw(topic, [(key, orjson.dumps(unknown), origin)])
    await producer.publish(topic, envelopes[2:])
    await producer.stop()

    base = recording_handler("c-poison")

    async def handler(conn: AsyncConnection, envelope: Envelope) -> None:
        if envelope.caseversion == 3:
            raise RuntimeError("the read model cannot take this one")
        await base(conn, envelope)

    known = {e.type for e in envelopes}
    consumer = IdempotentConsumer(
        ConsumerConfig(
            name="c-poison",
            topics=[topic],
            bootstrap_servers=relay_settings.kafka_bootstrap_servers,
            retry_initial=0.01,
        ),
        read_model_engine,
        handler,
        known_types=known,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: _seen(consumer, len(stored) + 2))
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    rows = await read_model(read_model_engine, "c-poison")
    assert [v for _, v, _ in rows] == [1, 2, 4]  # 3 parked; 4 behind it applied
    assert consumer.totals.failures == 3  # three attempts at version 3
    dlq = await _read_raw(relay_settings.kafka_bootstrap_servers, topic + ".dlq", 3)
    reasons = [dict(h)["dlq-reason"].decode() for _, _, h in dlq]
    assert reasons[0].startswith("invalid message: not JSON")
    assert "unknown event type 'collections.case.Unheard'" in reasons[1]
    assert "handler failed 3 time(s)" in reasons[2]
    assert dlq[0][1] == b"{not json"  # the original bytes, untouched
    assert all(dict(h)["dlq-original-topic"] == topic.encode() for _, _, h in dlq)
    assert dict(dlq[0][2])["correlation-id"] == b"corr-poison"  # original headers kept


async def _read_raw(
    bootstrap: str, topic: str, expected: int
) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []
    try:
        for _ in range(150):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend((r.key, r.value, list(r.headers)) for r in records)
            if len(out) >= expected:
                break
    finally:
        await consumer.stop()
    return sorted(out, key=lambda r: dict(r[2])["dlq-original-offset"])


async def test_a_hole_is_filled_from_case_service_before_going_on(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    await asyncio.to_thread(workload.portfolio, 1, 4)  # versions 1..5
    envelopes = CaseEventEncoder(cases.mapper).envelopes(
        cases.recorder.select_notifications(start=1, limit=100)
    )
    producer = EnvelopeProducer(ProducerConfig(relay_settings.kafka_bootstrap_servers))
    await producer.start()
    # Kafka lost versions 2..3 (a broker replaced, a retention window passed).
    await producer.publish(relay_settings.relay_topic, [envelopes[0], envelopes[3], envelopes[4]])
    await producer.stop()

    gaps = feed_client(relay_settings, cases)
    try:
        async with running_consumer(
            relay_settings, read_model_engine, "c-gap", gaps=gaps
        ) as consumer:
            await eventually(lambda: _count(read_model_engine, "c-gap", 5))
            assert consumer.totals.gap_filled == 2
    finally:
        await gaps.aclose()
    rows = await read_model(read_model_engine, "c-gap")
    assert [v for _, v, _ in rows] == [1, 2, 3, 4, 5]


async def test_two_consumers_in_a_group_split_partitions_and_apply_each_event_once(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    await asyncio.to_thread(workload.portfolio, 40, 2)
    stored = store_events(cases)
    name = "c-group"
    async with (
        running_relay(relay_settings, cases),
        running_consumer(relay_settings, read_model_engine, name) as first,
        running_consumer(relay_settings, read_model_engine, name) as second,
    ):
        await eventually(lambda: _count(read_model_engine, name, len(stored)), timeout=60)
        assert first.totals.applied > 0
        assert second.totals.applied > 0
        assert first.totals.applied + second.totals.applied == len(stored)
    rows = await read_model(read_model_engine, name)
    assert sorted(rows, key=lambda r: r[2]) == list(stored)


async def test_offsets_of_applied_batches_reach_the_broker_without_a_commit_per_batch(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    """Offsets wait (commit_interval_ms) but reach the broker once the consumer is idle or
    stops: a new owner of the group resumes at the end and applies nothing again."""
    await asyncio.to_thread(workload.portfolio, 4, 2)
    stored = store_events(cases)
    async with running_relay(relay_settings, cases):
        await eventually(lambda: _published(cases, stored[-1][2]))
    settings = {"commit_interval_ms": 600_000, "linger_ms": 100}
    async with running_consumer(
        relay_settings, read_model_engine, "c-offsets", **settings
    ) as consumer:
        await eventually(lambda: _seen(consumer, len(stored)))
    assert await _committed_total(relay_settings, "c-offsets") == len(stored)
    async with running_consumer(
        relay_settings, read_model_engine, "c-offsets", **settings
    ) as again:
        await eventually(lambda: asyncio.sleep(0, again.ready.is_set()))
        await asyncio.sleep(1)  # a redelivery would arrive within the first polls
        assert (again.totals.applied, again.totals.duplicates) == (0, 0)
    assert len(await read_model(read_model_engine, "c-offsets")) == len(stored)


async def _committed_total(settings: RelaySettings, group: str) -> int:
    """The group's committed offsets summed over the topic's partitions: the number of
    records it has passed (offsets count from 0, one per record; tansu's end offsets count
    record batches, so the records themselves are the yardstick)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    probe = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await probe.start()
    try:
        partitions = probe.partitions_for_topic(settings.relay_topic) or set()
        assert partitions
        total = 0
        for p in sorted(partitions):
            total += (await probe.committed(TopicPartition(settings.relay_topic, p))) or 0
        return total
    finally:
        await probe.stop()


async def test_one_poll_of_several_partitions_in_one_transaction_but_a_stuck_one_stalls_alone(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    """What a poll brings from several partitions is applied together; when that fails (a
    hole with nothing to fill it from), partition by partition: the other partitions' cases
    are applied, the stuck partition waits."""
    from arrears.messaging.producer import key_hash

    topic = relay_settings.relay_topic
    await asyncio.to_thread(workload.portfolio, 8, 1)  # versions 1..2 of eight cases
    envelopes = CaseEventEncoder(cases.mapper).envelopes(
        cases.recorder.select_notifications(start=1, limit=100)
    )
    stuck = envelopes[0].subject or ""
    producer = EnvelopeProducer(ProducerConfig(relay_settings.kafka_bootstrap_servers))
    await producer.start()
    # The stuck case's version 1 is lost, and there is no source to fill it from.
    await producer.publish(
        topic, [e for e in envelopes if not (e.subject == stuck and e.caseversion == 1)]
    )
    assert producer._producer is not None
    partitions = sorted(await producer._producer.partitions_for(topic))
    await producer.stop()
    assert len(partitions) > 1

    def partition(case_id: str) -> int:
        return partitions[key_hash(case_id.encode()) % len(partitions)]

    free = {e.subject for e in envelopes if e.subject and partition(e.subject) != partition(stuck)}
    assert free
    config = {"linger_ms": 300, "retry_initial": 0.01, "retry_max": 0.05}
    async with running_consumer(relay_settings, read_model_engine, "c-stuck", **config):
        await eventually(lambda: _count(read_model_engine, "c-stuck", 2 * len(free)))
    applied = await read_model(read_model_engine, "c-stuck")
    assert free <= {c for c, _, _ in applied}
    assert stuck not in {c for c, _, _ in applied}


async def test_a_connection_that_died_between_batches_is_replaced_and_nothing_is_lost(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    # The consumer keeps its connection from batch to batch; PostgreSQL restarting (here:
    # that one backend terminated) between batches fails the next batch, which is retried
    # from its first offset on a new connection.
    backends: list[int] = []
    record = recording_handler("c-reconnect")

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        backends.append(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
        await record(conn, envelope)

    await asyncio.to_thread(workload.portfolio, 3, 2)
    first = store_events(cases)
    async with (
        running_relay(relay_settings, cases),
        running_consumer(relay_settings, read_model_engine, "c-reconnect", handle) as consumer,
    ):
        await eventually(lambda: _count(read_model_engine, "c-reconnect", len(first)))
        async with read_model_engine.connect() as conn:
            killed = await conn.scalar(text("SELECT pg_terminate_backend(:p)"), {"p": backends[-1]})
        assert killed
        await asyncio.to_thread(workload.portfolio, 3, 2, "M")
        stored = store_events(cases)
        assert len(stored) > len(first)
        await eventually(lambda: _count(read_model_engine, "c-reconnect", len(stored)))
        assert consumer.totals.parked == []
        assert backends[-1] != backends[0]
    rows = await read_model(read_model_engine, "c-reconnect")
    assert sorted(rows, key=lambda r: r[2]) == [(c, v, s) for c, v, s in stored]
