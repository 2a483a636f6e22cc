"""The three services for the fuzz tier: each built as in production (its own lifespan, its
own engine), on a database of its own on the session's embedded PostgreSQL and the session's
embedded broker, with a few cases seeded so that commands reach existing cases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arrears.messaging import Applier, Envelope, case_event
from arrears.messaging.tracking import create_tracking_tables
from arrears_dev.embedded.postgres import create_database, drop_database, with_database
from arrears_dev.testing.names import unique_name, unique_topic
from schemathesis.python import asgi
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .harness import bearer, load

JWT_SECRET = "fuzz-tier-secret-long-enough-for-hs256-signatures"
NOWHERE = "http://127.0.0.1:9"  # case-service for contact and legal: commands stay queued
SEEDED_CASES = 3


@pytest.fixture(scope="module")
def fuzz_database_url(postgres_url_base: str) -> Iterator[str]:
    """One database for the module's service (the tier fuzzes one service per module)."""
    name = unique_name("fuzz")
    create_database(postgres_url_base, name)
    yield with_database(postgres_url_base, name)
    asgi.shutdown_lifespans()  # the service's pools close before its database goes
    drop_database(postgres_url_base, name)


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return bearer(JWT_SECRET)


def story(case_id: str, now: datetime, *, in_court: bool) -> list[Envelope]:
    """A delinquent case's events as case-service's relay publishes them."""
    events: list[tuple[str, datetime, dict[str, Any]]] = [
        ("CaseOpened", now - timedelta(days=400), {
            "loan_id": "L-" + case_id[:8], "product": "consumer_loan", "currency": "CNY",
            "principal": "100000.00",
            "borrower": {"id": "B-" + case_id[:6], "name": "Li Wei", "timezone": "Asia/Shanghai",
                         "address": "1 Renmin Road",
                         "phones": [{"number": "+8613800000001", "kind": "mobile",
                                     "owner": "borrower"}]},
            "guarantors": [{"id": "G-1", "name": "Wang Fang", "phones": []}],
            "collateral": None, "rules": {"limitation_years": 3},
        }),
        ("PaymentMissed", now - timedelta(days=200), {
            "installment": 1, "due_date": (now - timedelta(days=200)).date().isoformat(),
            "amount": "5000.00", "currency": "CNY",
        }),
    ]  # fmt: skip
    if in_court:
        filed = now - timedelta(days=30)
        events.append(("LawsuitFiled", filed, {
            "court": "Chaoyang", "docket_number": "D-" + case_id[:6], "claim_amount": "5000.00",
            "currency": "CNY", "filed_at": filed.isoformat(),
        }))  # fmt: skip
        events.append(("EnforcementStarted", filed + timedelta(days=10), {
            "enforcement_ref": "E-1", "docket_number": "D-" + case_id[:6],
            "started_at": (filed + timedelta(days=10)).isoformat(),
        }))  # fmt: skip
    return [
        case_event(
            case_id=case_id, version=v, sequence=v, event_name=name, occurred_at=at, data=data
        )
        for v, (name, at, data) in enumerate(events, start=1)
    ]


def seed_projection(database: str, consumer: str, handler: Any, case_ids: list[str]) -> None:
    """Project the stories as the service's consumer would (its Applier), on an engine of
    the fixture's own (the app's engine lives in schemathesis's event loop)."""

    async def run() -> None:
        engine: AsyncEngine = create_async_engine(database, pool_size=2)
        try:
            await create_tracking_tables(engine)
            applier = Applier(consumer, handler)
            now = datetime.now(UTC)
            envelopes = [
                e for i, c in enumerate(case_ids) for e in story(c, now, in_court=i % 2 == 0)
            ]
            items = [applier.prepare(e.to_json(), (e.subject or "").encode()) for e in envelopes]
            async with engine.begin() as conn:
                outcome = await applier.apply(conn, items, careful=False)
            assert not outcome.parked, outcome.parked
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="module")
def legal_service(fuzz_database_url: str, kafka_bootstrap_servers: str) -> tuple[Any, list[str]]:
    from legal_service.api.app import create_app
    from legal_service.context import Context
    from legal_service.projections.handlers import Projection
    from legal_service.settings import LegalServiceSettings, async_url

    topic = unique_topic("fuzz-legal") + ".case-events.v1"
    settings = LegalServiceSettings(
        database_url=fuzz_database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        case_events_topic=topic,
        legal_tasks_topic=topic.replace("case-events", "legal-tasks"),
        consumer_group="lg-fuzz-" + uuid.uuid4().hex[:8],
        db_pool_size=4,
        run_workers=False,
        case_service_url=NOWHERE,
    )
    app = create_app(settings, workers=False)
    schema = load(app)  # starts the lifespan: the tables exist from here on
    ctx: Context = app.state.ctx
    case_ids = [str(uuid.uuid4()) for _ in range(SEEDED_CASES)]
    projection = Projection(ctx.policy, ctx.emit)
    seed_projection(
        async_url(fuzz_database_url), settings.consumer_group, projection.handle, case_ids
    )
    return schema, case_ids


@pytest.fixture(scope="module")
def contact_service(fuzz_database_url: str, kafka_bootstrap_servers: str) -> tuple[Any, list[str]]:
    from contact_service.api.app import create_app
    from contact_service.context import Context
    from contact_service.projections import Projection
    from contact_service.settings import ContactServiceSettings, async_url

    topic = unique_topic("fuzz-contact") + ".case-events.v1"
    settings = ContactServiceSettings(
        database_url=fuzz_database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        case_events_topic=topic,
        contact_tasks_topic=topic.replace("case-events", "contact-tasks"),
        consumer_group="cs-fuzz-" + uuid.uuid4().hex[:8],
        db_pool_size=4,
        run_workers=False,
        case_service_url=NOWHERE,
    )
    app = create_app(settings, workers=False)
    schema = load(app)
    ctx: Context = app.state.ctx
    case_ids = [str(uuid.uuid4()) for _ in range(SEEDED_CASES)]
    projection = Projection(ctx.book, ctx.profile)
    seed_projection(
        async_url(fuzz_database_url), settings.consumer_group, projection.handle, case_ids
    )
    return schema, case_ids


@pytest.fixture(scope="module")
def case_service(
    fuzz_database_url: str, kafka_bootstrap_servers: str, tokens: dict[str, str]
) -> tuple[Any, list[str]]:
    from case_service.api.app import create_app
    from case_service.settings import CaseServiceSettings
    from eventsourcing.cipher import AESCipher

    settings = CaseServiceSettings(
        database_url=fuzz_database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        db_pool_size=4,
    )
    app = create_app(settings)
    schema = load(app)
    case_ids = []
    with asgi.get_client(app) as client:
        for n in range(SEEDED_CASES):
            opened = client.post(
                "/v1/cases",
                json={
                    "loan_id": f"L-FUZZ-{n}",
                    "product": "consumer_loan",
                    "currency": "CNY",
                    "principal": "100000.00",
                    "borrower": {
                        "id": f"B-{n}",
                        "name": "Li Wei",
                        "timezone": "Asia/Shanghai",
                        "phones": [
                            {"number": "+8613800000001", "kind": "mobile", "owner": "borrower"}
                        ],
                    },
                    "guarantors": [{"id": "G-1", "name": "Wang Fang", "phones": []}],
                },
                headers={"Authorization": tokens["origination"]},
            )
            assert opened.status_code == 201, opened.text
            case_ids.append(str(opened.json()["case_id"]))
    return schema, case_ids
