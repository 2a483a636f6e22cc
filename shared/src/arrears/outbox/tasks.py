"""Tasks for other bank systems, stored in the deciding transaction and published once.

`emit_task` writes the task's CloudEvent into `task_outbox` inside the caller's transaction,
keyed by its stable task id: deciding the same task again (a second daily run, a restart
mid-run) stores nothing new. `TaskPublisher` sends stored tasks to Kafka in the order they
were stored, waits for the broker's acknowledgement, then marks them published. Broker down:
it waits and retries without losing or reordering anything. A crash between publish and
mark re-publishes the same task ids, which consumers drop as duplicates. Only one publisher
per database is active at a time (an advisory lock), so order per key holds with several
processes running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.messaging.envelope import CONTENT_TYPE, Envelope
from arrears.messaging.producer import EnvelopeProducer
from arrears.outbox.backoff import Backoff

_log = logging.getLogger(__name__)
_PUBLISHER_LOCK = 7201957
# After a wake that found nothing, look again after these pauses (last first): the emitting
# transaction commits within a few milliseconds to a few hundred of its wake.
_SETTLE_SECONDS = (0.3, 0.1, 0.03)

TASKS_EMITTED = Counter(
    "arrears_tasks_emitted_total", "Tasks decided (each task id once)", ["topic", "type"]
)
TASKS_PUBLISHED = Counter(
    "arrears_tasks_published_total", "Tasks acknowledged by the broker", ["topic"]
)
TASKS_PENDING = Gauge("arrears_task_outbox_pending", "Tasks stored and not yet published")


def task_envelope(
    *,
    event_type: str,
    task_id: str,
    subject: str,
    data: Mapping[str, Any],
    source: str,
    at: datetime,
    correlation_id: str | None = None,
) -> Envelope:
    return Envelope(
        id=task_id,
        source=source,
        type=event_type,
        subject=subject,
        time=at,
        correlationid=correlation_id,
        data=data,
    )


async def emit_task(
    conn: AsyncConnection,
    *,
    topic: str,
    event_type: str,
    task_id: str,
    subject: str,
    data: Mapping[str, Any],
    source: str,
    at: datetime,
    correlation_id: str | None = None,
) -> bool:
    """Store a task for publishing; False if this task id was stored before."""
    envelope = task_envelope(
        event_type=event_type,
        task_id=task_id,
        subject=subject,
        data=data,
        source=source,
        at=at,
        correlation_id=correlation_id,
    )
    result = await conn.execute(
        text(
            "INSERT INTO task_outbox (task_id, topic, key, envelope)"
            " VALUES (:task_id, :topic, :key, CAST(:envelope AS jsonb))"
            " ON CONFLICT (task_id) DO NOTHING RETURNING seq"
        ),
        {
            "task_id": task_id,
            "topic": topic,
            "key": subject,
            "envelope": envelope.to_json().decode(),
        },
    )
    stored = result.scalar_one_or_none() is not None
    if stored:
        TASKS_EMITTED.labels(topic, event_type).inc()
    return stored


class TaskPublisher:
    """Publishes stored tasks; `run` is its background loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: EnvelopeProducer,
        *,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        idle_poll_seconds: float = 0.5,
        open_envelope: Callable[[Any], Any] | None = None,
    ) -> None:
        self._engine = engine
        self._producer = producer
        # Opens what the service stored sealed (e.g. a number for the dialer) as it leaves.
        self._open = open_envelope
        self._batch_size = batch_size
        self._backoff = backoff or Backoff(initial=0.2, maximum=5.0)
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        # Passes left to look again soon after a wake that found nothing: `wake` comes from
        # inside the emitting transaction, so the first look often runs before its commit.
        settling = 0
        while not stop.is_set():
            try:
                if not self._producer.started:
                    await self._producer.start()
                published = await self.publish_pending()
                failures = 0
            except Exception as exc:  # broker or database away: wait, then the same batch
                failures += 1
                delay = self._backoff.delay(failures)
                _log.warning("task publishing failed (%s); retrying in %.1f s", exc, delay)
                await self._sleep(stop, delay)
                continue
            if published:
                settling = 0
                continue
            if self._wake.is_set():  # woken during the pass: the waker had not committed yet
                settling = len(_SETTLE_SECONDS)
            self._wake.clear()
            if settling:
                settling -= 1
                await self._sleep(stop, _SETTLE_SECONDS[settling], wake=True)
                continue
            woken = await self._sleep(stop, self._idle_poll, wake=True)
            if woken:
                settling = len(_SETTLE_SECONDS)
        await self._producer.stop()

    async def publish_pending(self) -> int:
        """Publish one batch in stored order; returns how many were published."""
        async with self._engine.begin() as conn:
            active = await conn.scalar(
                text("SELECT pg_try_advisory_xact_lock(:lock)"), {"lock": _PUBLISHER_LOCK}
            )
            if not active:
                return 0  # another process is publishing; this one stands by
            rows: Sequence[Any] = (
                await conn.execute(
                    text(
                        "SELECT seq, topic, key, envelope FROM task_outbox"
                        " WHERE published_at IS NULL ORDER BY seq LIMIT :limit"
                    ),
                    {"limit": self._batch_size},
                )
            ).all()
            if not rows:
                TASKS_PENDING.set(0)
                return 0
            if self._open is not None:
                rows = [_Opened(r.seq, r.topic, r.key, self._open(r.envelope)) for r in rows]
            for topic, records in _by_topic(rows).items():
                await self._producer.publish_raw(topic, records)
                TASKS_PUBLISHED.labels(topic).inc(len(records))
            await conn.execute(
                text("UPDATE task_outbox SET published_at = now() WHERE seq = ANY(:seqs)"),
                {"seqs": [row.seq for row in rows]},
            )
            TASKS_PENDING.set(await _count_pending(conn))
        return len(rows)

    async def _sleep(self, stop: asyncio.Event, seconds: float, *, wake: bool = False) -> bool:
        """Wait `seconds`, or less if stopped or (with `wake`) woken; True if woken."""
        waits = [asyncio.create_task(stop.wait())]
        if wake:
            waits.append(asyncio.create_task(self._wake.wait()))
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        return wake and self._wake.is_set()


@dataclass(frozen=True)
class _Opened:
    seq: int
    topic: str
    key: str
    envelope: Any


def _by_topic(
    rows: Sequence[Any],
) -> dict[str, list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]]:
    grouped: dict[str, list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]] = {}
    for row in rows:
        headers = [("content-type", CONTENT_TYPE.encode())]
        correlation = row.envelope.get("correlationid")
        if correlation:
            headers.append(("correlation-id", str(correlation).encode()))
        grouped.setdefault(row.topic, []).append(
            (row.key.encode(), orjson.dumps(row.envelope), headers)
        )
    return grouped


async def _count_pending(conn: AsyncConnection) -> int:
    count = await conn.scalar(text("SELECT count(*) FROM task_outbox WHERE published_at IS NULL"))
    return int(count or 0)
