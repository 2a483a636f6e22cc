"""The idempotent consumer-group runner (DESIGN §4): aiokafka in, one transaction per batch.

Per batch: one database transaction applies the records through `Applier` (duplicates
skipped, holes filled, tracking rows written with the read-model changes); records that
can't be processed are published to `<topic>.dlq` (acks awaited) before the transaction
commits; offsets are committed only after it. A partition is a sequence of cases' events in
order. What one poll brings from several partitions is applied in one transaction; if that
fails, partition by partition, concurrently, so one partition's trouble stalls only it.
Infrastructure failures (database or gap source unavailable) roll back and retry a
partition's batch from its first offset with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.messaging.processing import (
    Applier,
    BatchHandler,
    GapFiller,
    Handler,
    HandlerFailedError,
    Item,
    Outcome,
    Upcaster,
)
from arrears.messaging.producer import EnvelopeProducer, ProducerConfig
from arrears.messaging.tracking import create_tracking_tables

log = logging.getLogger("arrears.messaging.consumer")

PROCESSED = Counter("arrears_consumer_processed_total", "Events applied", ["consumer"])
DUPLICATES = Counter(
    "arrears_consumer_duplicates_total", "Redelivered events skipped", ["consumer"]
)
FAILED = Counter("arrears_consumer_failed_total", "Failed handler attempts", ["consumer"])
DLQ = Counter("arrears_consumer_dlq_total", "Messages parked on the DLQ", ["consumer"])
GAPS = Counter("arrears_consumer_gap_filled_total", "Events fetched to fill holes", ["consumer"])
RETRIES = Counter("arrears_consumer_batch_retries_total", "Batches retried", ["consumer"])
LAG = Gauge("arrears_consumer_lag", "Records behind the partition end", ["consumer", "partition"])
BATCH_SECONDS = Histogram(
    "arrears_consumer_batch_seconds",
    "Time to apply and commit one batch (one partition's, or one poll's)",
    ["consumer"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
# The lag gauge is set at most this often while batches flow, and once when the loop turns
# idle: a probe per partition per batch cost more than the gauge is worth between scrapes.
LAG_REPORT_SECONDS = 1.0


@dataclass(frozen=True)
class ConsumerConfig:
    name: str  # also the consumer group id unless group_id is given
    topics: Sequence[str]
    bootstrap_servers: str
    group_id: str | None = None
    max_batch: int = 500
    poll_timeout_ms: int = 100
    max_attempts: int = 3
    retry_initial: float = 0.05
    retry_max: float = 2.0
    dlq_suffix: str = ".dlq"
    auto_offset_reset: str = "earliest"
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    # How long the broker may hold a fetch that found nothing. Apache Kafka answers as soon
    # as a record arrives; tansu answers late in proportion to it (a probe: median 55 ms, max
    # 240 ms at aiokafka's default 500; 5 ms and 15 ms at 20), which was most of the
    # end-to-end lag. Short waits cost only more empty fetches while idle.
    fetch_max_wait_ms: int = 50
    enable_idempotence: bool = False
    # How long a batch's offset may wait to be committed to the broker. The database's
    # tracking rows, written in the batch's transaction, are what make processing exactly
    # once; the broker's offset only says where a restarted or new owner resumes, and what it
    # redelivers is skipped as a duplicate. Events trickling in one or two at a time made an
    # offset commit (a broker round trip, and the broker's own work) per event; now offsets
    # go at most this often, and always when the loop turns idle, before a partition is
    # revoked, when a batch parked something, and on stop. 0: after every batch.
    commit_interval_ms: int = 1_000
    # After records arrive, wait this long for more before applying them (0: apply at once).
    # Events trickling in one or two at a time cost a transaction, the tracking rows and the
    # read model's statements each; gathered for a few tens of milliseconds they share them.
    # It adds up to this much to the lag, so a consumer with a tight lag target keeps 0.
    linger_ms: int = 0


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: IdempotentConsumer) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:  # noqa: ARG002
        # Wait for the batch in hand to commit before the partitions move elsewhere, and hand
        # its owner-to-be the offsets this one has applied (fewer duplicates to skip).
        async with self.runner.lock:
            await self.runner.commit_offsets()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.runner.assigned = set(assigned)
        log.info(
            "partitions assigned",
            extra={"fields": {"partitions": sorted(str(tp) for tp in assigned)}},
        )


class IdempotentConsumer:
    def __init__(
        self,
        config: ConsumerConfig,
        engine: AsyncEngine,
        handler: Handler,
        *,
        gaps: GapFiller | None = None,
        known_types: Container[str] | None = None,
        upcast: Upcaster | None = None,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.applier = Applier(
            consumer=config.name,
            handler=handler,
            gaps=gaps,
            known_types=known_types,
            upcast=upcast,
            max_attempts=config.max_attempts,
            retry_initial=config.retry_initial,
            retry_max=config.retry_max,
            batch_handler=batch_handler,
        )
        self.dlq = EnvelopeProducer(
            ProducerConfig(
                bootstrap_servers=config.bootstrap_servers,
                client_id=f"{config.name}-dlq",
                enable_idempotence=config.enable_idempotence,
            )
        )
        self.lock = asyncio.Lock()
        self.assigned: set[TopicPartition] = set()
        self.ready = asyncio.Event()  # set once partitions are assigned
        self.totals = Outcome()
        self._consumer: AIOKafkaConsumer | None = None
        # Offsets applied (their transactions committed) but not yet committed to the broker.
        self._uncommitted: dict[TopicPartition, int] = {}
        self._committed_at = time.monotonic()
        self._held: AsyncConnection | None = None  # see _transaction
        self._held_busy = False
        self._lag_reported_at = 0.0  # monotonic; 0: due with the next batch
        self._lag_stale = False  # a batch was applied since the gauge was last set
        # The metrics' children for this consumer, looked up once (`labels` takes a lock).
        name = config.name
        self._processed, self._duplicates = PROCESSED.labels(name), DUPLICATES.labels(name)
        self._failed, self._dlq = FAILED.labels(name), DLQ.labels(name)
        self._gaps = GAPS.labels(name)
        self._retries, self._batch_seconds = RETRIES.labels(name), BATCH_SECONDS.labels(name)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished before leaving."""
        await create_tracking_tables(self.engine)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap_servers,
            group_id=self.config.group_id or self.config.name,
            client_id=self.config.name,
            enable_auto_commit=False,
            auto_offset_reset=self.config.auto_offset_reset,
            session_timeout_ms=self.config.session_timeout_ms,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            max_poll_records=self.config.max_batch,
            fetch_max_wait_ms=self.config.fetch_max_wait_ms,
        )
        await self._start(consumer, stop)
        self._consumer = consumer
        try:
            consumer.subscribe(list(self.config.topics), listener=_Rebalance(self))
            while not stop.is_set():
                batches = await consumer.getmany(
                    timeout_ms=self.config.poll_timeout_ms, max_records=self.config.max_batch
                )
                if self.assigned:
                    self.ready.set()
                if not batches:
                    await self.commit_offsets()  # idle: nothing to gain by waiting longer
                    if self._lag_stale:
                        await self._report_lag(consumer)
                    continue
                batches = await self._linger(consumer, batches)
                async with self.lock:
                    if len(batches) == 1 or not await self._together(batches):
                        await asyncio.gather(
                            *(
                                self._partition(consumer, tp, records, stop)
                                for tp, records in batches.items()
                            )
                        )
                    self._lag_stale = True
                    if time.monotonic() - self._lag_reported_at >= LAG_REPORT_SECONDS:
                        await self._report_lag(consumer)
                    interval = self.config.commit_interval_ms / 1000
                    if time.monotonic() - self._committed_at >= interval:
                        await self.commit_offsets()
        finally:
            with contextlib.suppress(Exception):
                await self.commit_offsets()
            with contextlib.suppress(Exception):
                await consumer.stop()
            self._consumer = None
            await self._release_held()
            await self.dlq.stop()

    async def _linger(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Any]]
    ) -> dict[TopicPartition, list[Any]]:
        """`batches` with what arrived during `linger_ms` appended (the fetcher keeps
        fetching meanwhile), up to `max_batch` records in all."""
        room = self.config.max_batch - sum(len(records) for records in batches.values())
        if self.config.linger_ms <= 0 or room <= 0:
            return batches
        await asyncio.sleep(self.config.linger_ms / 1000)
        more = await consumer.getmany(timeout_ms=0, max_records=room)
        for tp, records in more.items():
            batches.setdefault(tp, []).extend(records)  # the same partition's next offsets
        return batches

    async def commit_offsets(self) -> None:
        """Commit the offsets of every applied batch not committed yet (of partitions still
        assigned); a failure leaves them to the next owner, who skips what it redelivers."""
        self._committed_at = time.monotonic()
        consumer = self._consumer
        if not self._uncommitted or consumer is None:
            return
        assigned = consumer.assignment()
        offsets = {tp: o for tp, o in self._uncommitted.items() if tp in assigned}
        self._uncommitted = {}
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except Exception as exc:  # a rebalance took a partition: the next owner dedups
            log.warning(
                "offset commit failed",
                extra={"fields": {"partitions": sorted(map(str, offsets)), "error": repr(exc)}},
            )

    async def _start(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        delay = self.config.retry_initial
        while True:
            try:
                await consumer.start()
                return
            except Exception as exc:
                if stop.is_set():
                    raise
                log.warning("broker unavailable; retrying", extra={"fields": {"error": repr(exc)}})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max)

    async def _together(self, batches: dict[TopicPartition, list[Any]]) -> bool:
        """Apply several partitions' records in one transaction (each partition's in order;
        its cases are its own). Records trickling in a few at a time over several partitions
        made a transaction, tracking rows and read-model statements per partition. False if
        it failed (rolled back): the caller then applies partition by partition, each with
        its own retries, so one partition's trouble (a hole not filled) stalls only it."""
        started = time.perf_counter()
        items = [
            self.applier.prepare(r.value, r.key, ref=r)
            for records in batches.values()
            for r in records
        ]
        try:
            outcome = await self._apply(items)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("batch across partitions failed; applying them one by one: %r", exc)
            return False
        self._count(outcome)
        for tp, records in batches.items():
            self._uncommitted[tp] = records[-1].offset + 1
        if outcome.parked or self.config.commit_interval_ms <= 0:
            await self.commit_offsets()
        self._batch_seconds.observe(time.perf_counter() - started)
        return True

    async def _partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[Any],
        stop: asyncio.Event,
    ) -> None:
        items = [self.applier.prepare(r.value, r.key, ref=r) for r in records]
        delay = self.config.retry_initial
        while True:
            started = time.perf_counter()
            try:
                outcome = await self._apply(items)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._retries.inc()
                log.warning(
                    "batch failed; retrying from its first offset",
                    extra={
                        "fields": {
                            "partition": str(tp),
                            "offset": records[0].offset,
                            "error": repr(exc),
                        }
                    },
                )
                if stop.is_set():
                    consumer.seek(tp, records[0].offset)  # redelivered to whoever runs next
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max)
        # Counted as soon as the transaction commits (no await in between), so the totals
        # never lag what a reader of the read model already sees.
        self._count(outcome)
        self._uncommitted[tp] = records[-1].offset + 1
        if outcome.parked or self.config.commit_interval_ms <= 0:
            # A parked message is not tracked in the database (an unreadable one has no id):
            # its offset goes now, so a restart does not park it on the DLQ again.
            await self.commit_offsets()
        self._batch_seconds.observe(time.perf_counter() - started)

    async def _apply(self, items: list[Item]) -> Outcome:
        try:
            async with self._transaction() as conn:
                outcome = await self.applier.apply(conn, items, careful=False)
                await self._park(outcome)
                return outcome
        except HandlerFailedError:
            pass
        async with self._transaction() as conn:
            outcome = await self.applier.apply(conn, items, careful=True)
            await self._park(outcome)
            return outcome

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction on the consumer's own connection, kept from batch to batch: taking
        one from the pool and giving it back cost about 0.1 ms of CPU per batch, most batches
        being a few events. Partitions applied concurrently (after a failed poll-wide batch)
        take the others from the pool. After any failure the connection is closed (it may be
        broken: a dead one is found by a batch's first statement, as with the pool without
        its pre-ping), and the next batch takes a new one."""
        if self._held_busy:
            async with self.engine.begin() as conn:
                yield conn
            return
        self._held_busy = True
        try:
            if self._held is None:
                self._held = await self.engine.connect()
            try:
                async with self._held.begin():
                    yield self._held
            except BaseException:
                await self._release_held(broken=True)
                raise
        finally:
            self._held_busy = False

    async def _release_held(self, *, broken: bool = False) -> None:
        """Give the kept connection back to the pool; `broken`: close it instead (back in the
        pool, a dead one would fail whoever took it next)."""
        held, self._held = self._held, None
        if held is None:
            return
        if broken:
            with contextlib.suppress(Exception):
                await held.invalidate()
        with contextlib.suppress(Exception):
            await held.close()

    async def _park(self, outcome: Outcome) -> None:
        if not outcome.parked:
            return
        records = []
        for parked in outcome.parked:
            ref = parked.item.ref
            headers = list(getattr(ref, "headers", None) or [])
            headers += [
                ("dlq-reason", parked.reason.encode()[:4000]),
                ("dlq-consumer", self.config.name.encode()),
                ("dlq-failed-at", datetime.now(UTC).isoformat().encode()),
            ]
            topic = getattr(ref, "topic", None) or self.config.topics[0]
            if ref is not None:
                headers += [
                    ("dlq-original-topic", topic.encode()),
                    ("dlq-original-partition", str(ref.partition).encode()),  # type: ignore[attr-defined]
                    ("dlq-original-offset", str(ref.offset).encode()),  # type: ignore[attr-defined]
                ]
            records.append(
                (topic + self.config.dlq_suffix, parked.item.key, parked.item.raw or b"", headers)
            )
            log.error(
                "message parked on the DLQ",
                extra={"fields": {"reason": parked.reason, "topic": topic}},
            )
        await self.dlq.start()
        for dlq_topic in {r[0] for r in records}:
            await self.dlq.publish_raw(
                dlq_topic, [(k, v, h) for t, k, v, h in records if t == dlq_topic]
            )

    def _count(self, outcome: Outcome) -> None:
        self._processed.inc(outcome.applied)
        if outcome.duplicates or outcome.failures or outcome.parked or outcome.gap_filled:
            self._duplicates.inc(outcome.duplicates)
            self._failed.inc(outcome.failures)
            self._dlq.inc(len(outcome.parked))
            self._gaps.inc(outcome.gap_filled)
        self.totals.applied += outcome.applied
        self.totals.duplicates += outcome.duplicates
        self.totals.failures += outcome.failures
        self.totals.gap_filled += outcome.gap_filled
        self.totals.parked.extend(outcome.parked)

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        self._lag_reported_at, self._lag_stale = time.monotonic(), False
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            with contextlib.suppress(Exception):
                position = await consumer.position(tp)
                LAG.labels(self.config.name, str(tp.partition)).set(max(0, highwater - position))
