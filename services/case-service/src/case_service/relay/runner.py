"""The relay: notification log -> `collections.case-events.v1`, at least once, in order.

Loop: take the next range of `relay_batch_size` notification ids after the saved position,
publish its events (key = case id), wait for every acknowledgement, then save the range's
end as the position (caught up, in the statement of the next read, within 0.1 s). The next
ranges are read and encoded meanwhile, in worker processes (decoders.py), but published
only in order, each after the previous one's acks. A failed publish is retried with
backoff from the same position (the broker may see a record twice, with the same event id;
it never misses one). With nothing to read the relay sleeps until PostgreSQL's NOTIFY from
the library's insert (or `relay_idle_poll_seconds` as a safety net). Caught up, events come
a few at a time: the relay then reads what follows its position itself, on its own
connection, a wake-up waiting `relay_coalesce_seconds` first, and goes back to the
read-ahead only for a batch's worth or more. A session advisory lock makes a second relay
on the same store a hot standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from arrears.messaging.envelope import CASE_EVENTS_TOPIC
from arrears.messaging.producer import EnvelopeProducer, ProducerConfig
from eventsourcing.postgres import PostgresApplicationRecorder
from prometheus_client import Counter, Gauge, Histogram
from psycopg.sql import SQL, Identifier
from pydantic import Field

from case_service.relay.decoders import Decoders
from case_service.relay.envelopes import CaseEventEncoder
from case_service.relay.store import RelayStore
from case_service.relay.wire import Record, Row
from case_service.settings import CaseServiceSettings

log = logging.getLogger("case_service.relay")

LAG = Gauge("arrears_relay_lag_events", "Events recorded but not yet published")
POSITION = Gauge("arrears_relay_position", "Last notification id acknowledged by the broker")
PUBLISHED = Counter("arrears_relay_published_total", "Events acknowledged by the broker")
FAILURES = Counter("arrears_relay_publish_failures_total", "Failed publish attempts (retried)")
BATCH = Histogram(
    "arrears_relay_batch_seconds",
    "Read + publish + save time of one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)


# Caught up, the relay reads at most this many events at a time itself (a trickle); finding
# that many, it reads the rest at once if less than a batch, else leaves it to the worker
# processes' read-ahead.
FOLLOWING_MAX = 200
_NO_END = 2**63 - 1
# Caught up, a range's end is saved by the next read's statement, which comes with the next
# wake-up or, at the latest, this long after the range's acks.
SAVE_WITHIN_SECONDS = 0.1
_T = TypeVar("_T")


class RelaySettings(CaseServiceSettings):
    relay_name: str = "case-events"
    relay_topic: str = CASE_EVENTS_TOPIC
    relay_batch_size: int = 5_000
    # Worker processes reading and encoding the next batches while one is in flight (0: a
    # thread of the relay's own process), and how many batches may be read ahead.
    relay_decoders: int = 2
    relay_pipeline_depth: int = 3
    relay_idle_poll_seconds: float = 1.0
    # Caught up, a wake-up waits this long before reading, so the commits of those moments
    # go out in one read, one produce request and one position save (each costs the same
    # for one event as for fifty; at a trickle, one command's commit woke a whole cycle).
    relay_coalesce_seconds: float = Field(default=0.01, ge=0.0, le=0.1)
    relay_retry_initial_seconds: float = 0.2
    relay_retry_max_seconds: float = 5.0
    relay_metrics_port: int = 9101  # 0: don't serve /metrics (e.g. in-process tests)
    kafka_acks: str = "all"
    kafka_enable_idempotence: bool = False  # on for Apache Kafka; tansu refuses it
    kafka_linger_ms: int = 2
    kafka_request_timeout_ms: int = 10_000
    # Fault injection for robustness tests only: exit hard after publishing this many
    # batches, before saving the position (simulates a crash between ack and save).
    relay_crash_after_batches: int = 0

    def producer_config(self) -> ProducerConfig:
        return ProducerConfig(
            bootstrap_servers=self.kafka_bootstrap_servers,
            client_id=f"{self.service_name}-relay",
            acks=self.kafka_acks,
            enable_idempotence=self.kafka_enable_idempotence,
            linger_ms=self.kafka_linger_ms,
            request_timeout_ms=self.kafka_request_timeout_ms,
        )


class Relay:
    def __init__(
        self,
        settings: RelaySettings,
        recorder: PostgresApplicationRecorder,
        encoder: CaseEventEncoder,
        producer: EnvelopeProducer | None = None,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.store = RelayStore(recorder)
        self.encoder = encoder
        self.producer = producer or EnvelopeProducer(settings.producer_config())
        self.position = 0
        self.batches = 0
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()  # set once the lock is held and the position read
        self._own: psycopg.AsyncConnection[Any] | None = None  # the caught-up reads' and saves'
        # Caught up, a range's end acknowledged but not yet saved: saved by the next read's
        # statement (within SAVE_WITHIN_SECONDS), before the read-ahead, or as the relay stops.
        self._unsaved: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set."""
        async with await psycopg.AsyncConnection.connect(
            self.settings.database_url, autocommit=True
        ) as conn:
            if not await self._acquire_lock(conn, stop):
                return
            await conn.execute(SQL("LISTEN {}").format(Identifier(self.recorder.channel_name)))
            listener = asyncio.create_task(self._listen(conn, stop))
            try:
                await self._loop(stop)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                await self.producer.stop()
                own, self._own = self._own, None
                if own is not None:
                    with contextlib.suppress(Exception):
                        await own.close()

    async def _acquire_lock(self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> bool:
        key = zlib.crc32(f"arrears-relay/{self.settings.relay_name}".encode())
        while not stop.is_set():
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cur.fetchone()
            if row and row[0]:
                return True
            log.info("another relay holds the lock; standing by")
            await _wait(stop, self.settings.relay_idle_poll_seconds)
        return False

    async def _listen(self, conn: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> None:
        while not stop.is_set():
            # One generator for every notification of a second (not one per notification:
            # a caught-up relay gets one per command case-service records).
            async for _ in conn.notifies(timeout=1.0):
                self._wake.set()

    async def _loop(self, stop: asyncio.Event) -> None:
        name = self.settings.relay_name
        size = self.settings.relay_batch_size
        depth = max(1, self.settings.relay_pipeline_depth)
        self.position = await asyncio.to_thread(self.store.position, name)
        POSITION.set(self.position)
        log.info("relay starting", extra={"fields": {"position": self.position}})
        decoders = Decoders(self.settings, self.settings.relay_decoders, self.store, self.encoder)
        # Ranges being read and encoded, oldest first; published strictly in this order.
        ahead: deque[tuple[int, asyncio.Future[list[Record]]]] = deque()
        scheduled, head = self.position, self.position
        # How many events a caught-up read takes: FOLLOWING_MAX; the whole rest at once when
        # the read before found more waiting, but less than a batch.
        trickle = min(FOLLOWING_MAX, size)
        most = trickle
        self.ready.set()
        try:
            while not stop.is_set():
                if not ahead and scheduled >= head:
                    # Caught up: events now come a few at a time. Read what follows the
                    # position in this process, in one query (no head query first, no hop to
                    # a worker and back); only a batch's worth or more goes to the read-ahead.
                    self._wake.clear()
                    started = time.perf_counter()
                    upto, records, head = await self._read_following(scheduled, most)
                    if records and not await self._deliver(
                        records, upto, stop, decoders, following=True
                    ):
                        return
                    scheduled = upto
                    LAG.set(max(0, head - upto))
                    if records:
                        BATCH.observe(time.perf_counter() - started)
                    if head > upto:
                        # More were waiting. Less than a batch: the rest is read here, at
                        # once, in one read (worker processes cost a second or more of CPU
                        # each to start: each imports and builds the application; more than
                        # a few thousand events cost to encode here). A batch or more: the
                        # read-ahead below.
                        if head - upto < size:
                            head, most = upto, size
                        else:  # the read-ahead saves each range as its acks come: this first
                            await self._save_unsaved()
                        continue
                    most = trickle
                    # Read again only when woken: the wake was cleared before the read, so a
                    # commit the read missed has notified since (or will: its NOTIFY follows
                    # its commit), and an immediate read would mostly find nothing. A
                    # position not yet saved is saved by a read soon even so.
                    idle = self.settings.relay_idle_poll_seconds
                    if self._unsaved is not None:
                        idle = min(idle, SAVE_WITHIN_SECONDS)
                    await _wait_any(stop, self._wake, idle)
                    if self._wake.is_set() and self.settings.relay_coalesce_seconds > 0:
                        await asyncio.sleep(self.settings.relay_coalesce_seconds)
                    continue
                while len(ahead) < depth and scheduled < head:
                    upto = min(scheduled + size, head)
                    ahead.append((upto, decoders.encode(scheduled, upto)))
                    scheduled = upto
                if not ahead:
                    LAG.set(0)
                    await _wait_any(stop, self._wake, self.settings.relay_idle_poll_seconds)
                    continue
                started = time.perf_counter()
                upto, encoding = ahead.popleft()
                records = await encoding
                if not await self._deliver(records, upto, stop, decoders):
                    return
                LAG.set(max(0, head - upto))
                BATCH.observe(time.perf_counter() - started)
        finally:
            for _, encoding in ahead:
                encoding.cancel()
            decoders.close()
            with contextlib.suppress(Exception):
                await self._save_unsaved()

    async def _read_following(self, after: int, most: int) -> tuple[int, list[Record], int]:
        """At most `most` events after `after`, encoded, the position they end at and the
        head: read too when `most` were found (more may be waiting). Every id below a
        visible one is committed (the library's insert lock serialises writers), so the
        last row read is a safe position; ids a rolled-back insert used are passed over."""
        name, unsaved = self.settings.relay_name, self._unsaved
        if unsaved is None:
            rows = await self._on_own_connection(
                lambda conn: self.store.rows_between_on(conn, after, _NO_END, most),
                lambda: self.store.rows_between(after, _NO_END, most),
            )
        else:
            rows = await self._on_own_connection(
                lambda conn: self.store.saving_rows_between_on(
                    conn, name, unsaved, after, _NO_END, most
                ),
                lambda: self._saved_then_rows(name, unsaved, after, most),
            )
            self._unsaved = None
        upto = rows[-1][0] if rows else after
        if len(rows) < most:
            return upto, self.encoder.records(rows), upto
        head = await asyncio.to_thread(self.store.max_notification_id)
        return upto, self.encoder.records(rows), max(head, upto)

    def _saved_then_rows(self, name: str, position: int, after: int, most: int) -> list[Row]:
        """The pool's way of `saving_rows_between_on`, in two statements."""
        self.store.save_position(name, position)
        return self.store.rows_between(after, _NO_END, most)

    async def _save_unsaved(self) -> None:
        """The position acknowledged but not yet saved, saved now (the read-ahead takes over,
        or the relay stops)."""
        name, unsaved = self.settings.relay_name, self._unsaved
        if unsaved is not None:
            await self._on_own_connection(
                lambda conn: self.store.save_position_on(conn, name, unsaved),
                lambda: self.store.save_position(name, unsaved),
            )
            self._unsaved = None

    async def _on_own_connection(
        self,
        query: Callable[[psycopg.AsyncConnection[Any]], Awaitable[_T]],
        pooled: Callable[[], _T],
    ) -> _T:
        """Run `query` on the relay's own autocommit connection: a caught-up relay reads and
        saves its position after every few events, and the pool's way (a thread hop, a
        checkout and its ping each time) cost more than the statement. A failure drops the
        connection and runs `pooled` instead (the pool reconnects), so a database restart
        costs one statement's retry, as with the pool alone."""
        try:
            if self._own is None or self._own.closed:
                self._own = await psycopg.AsyncConnection.connect(
                    self.settings.database_url, autocommit=True, connect_timeout=5
                )
            return await query(self._own)
        except psycopg.Error as exc:
            log.warning(
                "relay connection failed; using the pool", extra={"fields": {"error": repr(exc)}}
            )
            own, self._own = self._own, None
            if own is not None:
                with contextlib.suppress(Exception):
                    await own.close()
            return await asyncio.to_thread(pooled)

    async def _deliver(
        self,
        records: list[Record],
        upto: int,
        stop: asyncio.Event,
        decoders: Decoders,
        *,
        following: bool = False,
    ) -> bool:
        """Publish a range's records, then save its end as the position; False if stopped
        while the broker was away (the position stays put). `following`: a caught-up read,
        saved on the relay's own connection."""
        if records and not await self._publish(records, stop):
            return False
        self.batches += 1
        if self.batches == self.settings.relay_crash_after_batches:
            log.error("fault injection: exiting between publish and position save")
            decoders.close(kill=True)
            os._exit(70)
        name = self.settings.relay_name
        if following:
            # Saved by the next read's statement: one round trip less per wake-up. A relay
            # that dies first publishes these again, with the same ids (at least once).
            self._unsaved = upto
        else:
            await asyncio.to_thread(self.store.save_position, name, upto)
            self._unsaved = None
        self.position = upto
        PUBLISHED.inc(len(records))
        POSITION.set(upto)
        return True

    async def _publish(self, records: list[Record], stop: asyncio.Event) -> bool:
        delay = self.settings.relay_retry_initial_seconds
        while not stop.is_set():
            try:
                await self.producer.start()
                await self.producer.publish_records(
                    self.settings.relay_topic,
                    [(r[1], r[2], r[3]) for r in records],
                    [r[4] for r in records],
                )
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                FAILURES.inc()
                log.warning(
                    "publish failed; retrying from the same position",
                    extra={"fields": {"position": self.position, "error": repr(exc)}},
                )
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.producer.stop(), timeout=5)
                await _wait(stop, delay)
                delay = min(delay * 2, self.settings.relay_retry_max_seconds)
        return False


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    tasks = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
