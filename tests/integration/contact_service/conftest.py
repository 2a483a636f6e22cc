"""contact-service against the real PostgreSQL and the real broker (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arrears.auth import issue_token
from arrears.clock import ManualClock
from arrears.messaging import (
    ConsumerConfig,
    Envelope,
    EnvelopeProducer,
    IdempotentConsumer,
    ProducerConfig,
    case_event,
)
from arrears_dev.testing.names import unique_topic
from contact_service.context import Context
from contact_service.policy.strategy import load_book
from contact_service.projections import Projection
from contact_service.readmodel import create_tables
from contact_service.settings import ContactServiceSettings, async_url
from contact_service.tasks import ContactTask
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

JWT_SECRET = "contact-service-test-secret-long-enough-for-hs256"
# Monday 2 November 2026, 10:00 in Shanghai.
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
BOOK = load_book()


def token(role: str = "collector", subject: str = "agent-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, role, subject, timedelta(hours=1))}"}


async def eventually(
    condition: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture
def topic() -> str:
    return unique_topic("test-contact") + ".case-events.v1"


@pytest.fixture
def settings(database_url: str, kafka_bootstrap_servers: str, topic: str) -> ContactServiceSettings:
    return ContactServiceSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        case_events_topic=topic,
        contact_tasks_topic=topic.replace("case-events", "contact-tasks"),
        consumer_group="cs-" + uuid.uuid4().hex[:8],
        db_pool_size=4,
        run_workers=False,
    )


@pytest.fixture
async def engine(settings: ContactServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(settings.database_url), pool_size=6)
    await create_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


class TaskLog:
    """An emitter recording tasks in a table of the test's database, in the caller's
    transaction (as the task outbox does)."""

    async def __call__(self, conn: AsyncConnection, task: ContactTask) -> None:
        await conn.execute(
            text("INSERT INTO test_emitted (task_id, task_type, case_id) VALUES (:i, :t, :c)"),
            {"i": task.task_id, "t": task.task_type, "c": task.case_id},
        )


async def emitted(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT task_id, task_type, case_id FROM test_emitted ORDER BY seq")
        )
        return [(r[0], r[1], r[2]) for r in rows]


@pytest.fixture
async def task_log(engine: AsyncEngine) -> TaskLog:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS test_emitted (seq bigserial, task_id text,"
                " task_type text, case_id text)"
            )
        )
    return TaskLog()


@pytest.fixture
def ctx(
    settings: ContactServiceSettings, engine: AsyncEngine, clock: ManualClock, task_log: TaskLog
) -> Context:
    context = Context.build(settings, clock, engine=engine, book=BOOK)
    context.emit = task_log
    return context


@contextlib.asynccontextmanager
async def running_projection(ctx: Context, **config: Any) -> AsyncIterator[IdempotentConsumer]:
    consumer = IdempotentConsumer(
        ConsumerConfig(
            name=ctx.settings.consumer_group,
            topics=[ctx.settings.case_events_topic],
            bootstrap_servers=ctx.settings.kafka_bootstrap_servers,
            **config,
        ),
        ctx.engine,
        Projection(ctx.book, ctx.profile, ctx.emit, keys=ctx.keys).handle,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def publish(bootstrap: str, topic: str, envelopes: list[Envelope]) -> None:
    producer = EnvelopeProducer(ProducerConfig(bootstrap))
    await producer.start()
    try:
        await producer.publish(topic, envelopes)
    finally:
        await producer.stop()


class Story:
    """Builds a case's events (the envelopes the relay would publish)."""

    sequence = 0

    def __init__(self, case_id: str | None = None, *, tz: str = "Asia/Shanghai", **opened: Any):
        self.case_id = case_id or str(uuid.uuid4())
        self.version = 0
        self.events: list[Envelope] = []
        self.tz = tz
        self.add("CaseOpened", START - timedelta(days=40), **self._opened(**opened))

    def _opened(self, **overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "loan_id": "L-" + self.case_id[:8],
            "product": "consumer_loan",
            "currency": "CNY",
            "principal": "100000.00",
            "borrower": {
                "id": "B-1",
                "name": "Li Wei",
                "timezone": self.tz,
                "address": "1 Renmin Road",
                "phones": [
                    {"number": "+8613800000001", "kind": "mobile", "owner": "borrower"},
                    {"number": "+8613800000002", "kind": "home", "owner": "borrower"},
                    {"number": "+8613900000009", "kind": "mobile", "owner": "spouse"},
                ],
            },
            "guarantors": [],
            "collateral": None,
            "rules": {},
        }
        data.update(overrides)
        return data

    def add(self, name: str, at: datetime, **data: Any) -> Envelope:
        self.version += 1
        Story.sequence += 1
        envelope = case_event(
            case_id=self.case_id,
            version=self.version,
            sequence=Story.sequence,
            event_name=name,
            occurred_at=at,
            data=data,
        )
        self.events.append(envelope)
        return envelope

    def delinquent(self, bucket: str = "M1", days: int = 5, amount: str = "1200.00") -> Story:
        due = (START - timedelta(days=days)).date()
        self.add(
            "PaymentMissed",
            START - timedelta(days=days - 1),
            installment=1,
            due_date=due.isoformat(),
            amount=amount,
            currency="CNY",
        )
        self.add(
            "DelinquencyBucketChanged",
            START - timedelta(days=days - 1),
            from_bucket="M0",
            to_bucket=bucket,
            days_past_due=1,
            as_of=(due + timedelta(days=1)).isoformat(),
        )
        return self

    def attempt(
        self, at: datetime, outcome: str = "no_answer", point: str = "+8613800000001", **extra: Any
    ) -> Envelope:
        data = {
            "channel": "call",
            "party": "borrower",
            "contact_point": point,
            "outcome": outcome,
            "occurred_at": at.isoformat(),
            "local_time_of_day": "morning",
            "agent_id": "agent-1",
            "recording_ref": "rec-1" if outcome == "right_party_contact" else None,
            "notes": None,
        }
        data.update(extra)
        return self.add("ContactAttempted", at, **data)


async def seed(ctx: Context, stories: list[Story]) -> None:
    """Apply the stories' events through the projection (as the consumer does, no broker)."""
    from arrears.messaging import Applier

    applier = Applier(
        consumer=ctx.settings.consumer_group,
        handler=Projection(ctx.book, ctx.profile, ctx.emit, keys=ctx.keys).handle,
    )
    items = [
        applier.prepare(e.to_json(), (e.subject or "").encode()) for s in stories for e in s.events
    ]
    async with ctx.engine.begin() as conn:
        outcome = await applier.apply(conn, items, careful=False)
    assert not outcome.parked, outcome.parked
    ctx.zones.invalidate()


@pytest.fixture
async def client(ctx: Context) -> AsyncIterator[Any]:
    import httpx
    from contact_service.api.app import create_app

    app = create_app(ctx.settings, clock=ctx.clock, engine=ctx.engine, book=ctx.book, workers=False)
    app.state.ctx = ctx  # the ASGI transport runs no lifespan
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://contact-service") as http:
        yield http
    if ctx.reads is not None:
        await ctx.reads.close()
