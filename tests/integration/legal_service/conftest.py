"""legal-service against the real PostgreSQL and the real broker (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
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
from arrears.messaging.processing import Applier, Item
from arrears.outbox import create_outbox_tables
from arrears_dev.testing.names import unique_topic
from legal_service.context import Context
from legal_service.projections.handlers import Projection
from legal_service.readmodel import create_tables
from legal_service.settings import LegalServiceSettings, async_url
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

JWT_SECRET = "legal-service-test-secret-long-enough-for-hs256"
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def token(role: str = "legal", subject: str = "officer-1") -> dict[str, str]:
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
    return unique_topic("test-legal") + ".case-events.v1"


@pytest.fixture
def settings(database_url: str, kafka_bootstrap_servers: str, topic: str) -> LegalServiceSettings:
    return LegalServiceSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        case_events_topic=topic,
        legal_tasks_topic=topic.replace("case-events", "legal-tasks"),
        consumer_group="lg-" + uuid.uuid4().hex[:8],
        db_pool_size=4,
        run_workers=False,
        case_service_url="http://127.0.0.1:9",  # nothing there unless a test says so
    )


@pytest.fixture
async def engine(settings: LegalServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(settings.database_url), pool_size=6)
    await create_tables(engine)
    await create_outbox_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ctx(settings: LegalServiceSettings, engine: AsyncEngine, clock: ManualClock) -> Context:
    return Context.build(settings, clock, engine=engine)


class History:
    """Builds a case's envelopes as case-service's relay would publish them."""

    def __init__(self, case_id: str | None = None) -> None:
        self.case_id = case_id or str(uuid.uuid4())
        self.envelopes: list[Envelope] = []

    def add(self, name: str, at: datetime, **data: Any) -> History:
        version = len(self.envelopes) + 1
        self.envelopes.append(
            case_event(
                case_id=self.case_id,
                version=version,
                sequence=version,
                event_name=name,
                occurred_at=at,
                data=data,
            )
        )
        return self

    def for_case(self, case_id: str) -> History:
        """The same history for another case."""
        copy = History(case_id)
        for e in self.envelopes:
            copy.add(e.event_name, e.time or START, **dict(e.data))
        return copy


def opened(
    h: History,
    at: datetime,
    *,
    principal: str = "100000.00",
    guarantors: list[dict[str, str]] | None = None,
    collateral: dict[str, str] | None = None,
) -> History:
    return h.add(
        "CaseOpened",
        at,
        loan_id="L-" + h.case_id[:8],
        product="consumer_loan",
        currency="CNY",
        principal=principal,
        borrower={"id": "B-1", "name": "Li Wei", "timezone": "Asia/Shanghai"},
        guarantors=guarantors or [],
        collateral=collateral,
        rules={"limitation_years": 3},
    )


def delinquent_history(
    case_id: str | None = None, *, due: date = date(2024, 1, 10), amount: str = "20000.00"
) -> History:
    """Opened, one installment missed on `due`, a promise broken, a demand without proof."""
    at = datetime.combine(due, datetime.min.time(), UTC) + timedelta(hours=2)
    h = opened(History(case_id), at - timedelta(days=1), guarantors=[{"id": "G1", "name": "W"}])
    h.add(
        "PaymentMissed", at, installment=1, due_date=due.isoformat(), amount=amount, currency="CNY"
    )
    h.add("PromiseToPayMade", at + timedelta(days=5), promise_id="p1", amount="1000.00",
          currency="CNY", promised_date=(due + timedelta(days=12)).isoformat(),
          made_at=(at + timedelta(days=5)).isoformat())  # fmt: skip
    h.add("PromiseBroken", at + timedelta(days=13), promise_id="p1", amount="1000.00",
          currency="CNY", paid_amount="0.00", promised_date=(due + timedelta(days=12)).isoformat(),
          as_of=(due + timedelta(days=13)).isoformat())  # fmt: skip
    h.add("ContactAttempted", at + timedelta(days=20), channel="call", party="borrower",
          contact_point="+86 138****0001", outcome="right_party_contact",
          occurred_at=(at + timedelta(days=20)).isoformat(), agent_id="a1",
          recording_ref="rec-1", notes=None, local_time_of_day="morning")  # fmt: skip
    h.add("NoticeServed", at + timedelta(days=40), kind="demand_letter", delivered_via="letter",
          served_at=(at + timedelta(days=40)).isoformat(), proof=None,
          interrupts_limitation=False)  # fmt: skip
    h.add("ContactAttempted", at + timedelta(days=60), channel="sms", party="borrower",
          contact_point="+86 138****0001", outcome="delivered",
          occurred_at=(at + timedelta(days=60)).isoformat(), agent_id=None,
          recording_ref=None, notes=None, local_time_of_day="morning")  # fmt: skip
    return h


async def publish(bootstrap: str, topic: str, envelopes: list[Envelope]) -> None:
    producer = EnvelopeProducer(ProducerConfig(bootstrap))
    await producer.start()
    try:
        await producer.publish(topic, envelopes)
    finally:
        await producer.stop()


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
        Projection(ctx.policy, ctx.emit).handle,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def seen(consumer: IdempotentConsumer, n: int) -> bool:
    t = consumer.totals
    return t.applied + t.duplicates + len(t.parked) >= n


async def apply_directly(ctx: Context, envelopes: list[Envelope]) -> None:
    """Project envelopes without Kafka (the same Applier the consumer uses)."""
    applier = Applier(ctx.settings.consumer_group, Projection(ctx.policy, ctx.emit).handle)
    from arrears.messaging.tracking import create_tracking_tables

    await create_tracking_tables(ctx.engine)
    async with ctx.engine.begin() as conn:
        items = [Item(e, None, (e.subject or "").encode()) for e in envelopes]
        outcome = await applier.apply(conn, items, careful=False)
    assert not outcome.parked, outcome.parked


async def case_row(engine: AsyncEngine, case_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (
            (await conn.execute(text("SELECT * FROM lg_cases WHERE case_id = :c"), {"c": case_id}))
            .mappings()
            .first()
        )
        return dict(row) if row else None


async def read_topic(bootstrap: str, topic: str, expected: int, rounds: int = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    out: list[Any] = []
    try:
        for _ in range(rounds):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(records)
            if len(out) >= expected and expected > 0:
                # one more poll: anything beyond `expected` would be a duplicate
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    out.extend(records)
                break
    finally:
        await consumer.stop()
    return out
