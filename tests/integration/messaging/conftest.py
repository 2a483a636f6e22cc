"""The relay, the feed and consumers against the real PostgreSQL and the real tansu broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer
from arrears.auth import issue_token
from arrears.clock import ManualClock
from arrears.messaging.envelope import Envelope, parse
from case_service.application import CaseApplication
from case_service.commands import Command
from case_service.relay import CaseEventEncoder, Relay, RelaySettings
from eventsourcing.cipher import AESCipher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

JWT_SECRET = "messaging-test-secret-that-is-long-enough"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def service_token() -> str:
    return issue_token(JWT_SECRET, "service", "test-consumer", timedelta(hours=1))


async def eventually(
    condition: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.05
) -> None:
    """Poll `condition` until true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture
def topic() -> str:
    """A topic of its own per test: the broker is shared by the whole run."""
    return f"test-{uuid.uuid4().hex[:10]}.case-events.v1"


@pytest.fixture
def relay_settings(database_url: str, kafka_bootstrap_servers: str, topic: str) -> RelaySettings:
    return RelaySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        db_pool_size=4,
        relay_topic=topic,
        relay_metrics_port=0,
        relay_batch_size=200,
        relay_decoders=0,  # encode in a thread: no worker processes to start per test
        relay_retry_initial_seconds=0.1,
        relay_retry_max_seconds=0.5,
        kafka_request_timeout_ms=3000,
    )


@pytest.fixture
def cases(relay_settings: RelaySettings) -> Iterator[CaseApplication]:
    application = CaseApplication(relay_settings, clock=ManualClock(START))
    yield application
    application.close()


@dataclass
class Workload:
    """Records events through the application, as the HTTP API would."""

    cases: CaseApplication

    def open(self, loan_id: str) -> uuid.UUID:
        case, _ = self.cases.open_case(
            loan_id=loan_id,
            product="consumer_loan",
            currency="CNY",
            principal=Decimal("100000.00"),
            borrower={
                "id": "B-" + loan_id,
                "name": "Li Wei",
                "timezone": "Asia/Shanghai",
                "address": "1 Renmin Road",
                "phones": [{"number": "+8613800000001", "kind": "mobile", "owner": "borrower"}],
            },
            guarantors=[],
            collateral=None,
        )
        return uuid.UUID(str(case.id))

    def miss(self, case_id: uuid.UUID, installment: int) -> None:
        now = self.cases.clock.now()

        def action(case: Any) -> None:
            case.record_missed_payment(
                installment=installment,
                due_date=date(2025, 1, 1) + timedelta(days=installment),
                amount=Decimal("1200.00"),
                now=now,
            )

        outcome = self.cases.execute(Command(case_id, action))
        assert outcome.error is None, outcome.error

    def pay(self, case_id: uuid.UUID, reference: str) -> None:
        now = self.cases.clock.now()

        def action(case: Any) -> None:
            case.record_payment(amount=Decimal("500.00"), paid_at=now, reference=reference, now=now)

        outcome = self.cases.execute(Command(case_id, action))
        assert outcome.error is None, outcome.error

    def portfolio(self, n_cases: int, missed_each: int, prefix: str = "L") -> list[uuid.UUID]:
        ids = [self.open(f"{prefix}-{i}") for i in range(n_cases)]
        for installment in range(1, missed_each + 1):
            for case_id in ids:
                self.miss(case_id, installment)
        return ids


@pytest.fixture
def workload(cases: CaseApplication) -> Workload:
    return Workload(cases)


@contextlib.asynccontextmanager
async def running_relay(settings: RelaySettings, cases: CaseApplication) -> AsyncIterator[Relay]:
    relay = Relay(settings, cases.recorder_, CaseEventEncoder(cases.mapper))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def read_topic(
    bootstrap: str, topic: str, *, expected: int, timeout: float = 30.0
) -> list[tuple[bytes | None, Envelope, list[tuple[str, bytes]]]]:
    """Every record of `topic` from the start, until `expected` have arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[tuple[bytes | None, Envelope, list[tuple[str, bytes]]]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                out.extend((r.key, parse(r.value), list(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return out


@pytest.fixture
async def read_model_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The consumer's own database (here the same server, its own tables)."""
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url, pool_size=8)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS rm_case_events ("
                " consumer text, case_id text, version int, event_type text, sequence bigint,"
                " PRIMARY KEY (consumer, case_id, version))"
            )
        )
    yield engine
    await engine.dispose()


def recording_handler(consumer: str) -> Callable[[AsyncConnection, Envelope], Awaitable[None]]:
    """A read model that would fail (primary key) if any event were applied twice."""

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        await conn.execute(
            text(
                "INSERT INTO rm_case_events (consumer, case_id, version, event_type, sequence)"
                " VALUES (:c, :s, :v, :t, :q)"
            ),
            {
                "c": consumer,
                "s": envelope.subject,
                "v": envelope.caseversion,
                "t": envelope.type,
                "q": envelope.sequence,
            },
        )

    return handle


async def read_model(engine: AsyncEngine, consumer: str) -> list[tuple[str, int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT case_id, version, sequence FROM rm_case_events WHERE consumer = :c"
                " ORDER BY sequence"
            ),
            {"c": consumer},
        )
        return [(r.case_id, r.version, r.sequence) for r in rows]


def store_events(cases: CaseApplication) -> list[tuple[str, int, int]]:
    """(case id, version, notification id) of every stored event."""
    found = cases.recorder.select_notifications(start=1, limit=1_000_000)
    return [(str(n.originator_id), n.originator_version, n.id) for n in found]


_SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def assert_valid(envelope: Envelope) -> None:
    """The envelope matches envelope.json and its data the schema its `dataschema` names."""
    document = envelope.to_dict()
    jsonschema.validate(document, json.loads((_SCHEMAS / "envelope.json").read_text()))
    assert envelope.dataschema is not None
    name = envelope.dataschema.rsplit("/", 1)[-1]
    schema = json.loads((_SCHEMAS / name).read_text())
    jsonschema.validate(document["data"], schema, format_checker=jsonschema.FormatChecker())
