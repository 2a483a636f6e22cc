"""A real case-service over HTTP on a free loopback port, which tests can stop and start."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import uvicorn
from arrears.auth import issue_token
from arrears.db import async_engine
from arrears.outbox import create_outbox_tables
from arrears_dev.embedded.ports import LOOPBACK, free_port
from arrears_dev.embedded.postgres import create_database, drop_database, with_database
from arrears_dev.testing.names import unique_name
from case_service.api.app import create_app
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher
from sqlalchemy.ext.asyncio import AsyncEngine

SECRET = "outbox-test-secret-that-is-long-enough"
NOW = datetime.now(UTC)


class CaseServiceServer:
    """case-service served by uvicorn in a thread; `stop()` makes it unreachable."""

    def __init__(self, cases: CaseApplication, settings: CaseServiceSettings) -> None:
        self.app = create_app(settings, application=cases)
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(self.app, host=LOOPBACK, port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("case-service did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        self._server = self._thread = None


@pytest.fixture
def case_database(postgres_url_base: str) -> Iterator[str]:
    name = unique_name("cases")
    create_database(postgres_url_base, name)
    yield with_database(postgres_url_base, name)
    drop_database(postgres_url_base, name)


@pytest.fixture
def cases(case_database: str) -> Iterator[CaseApplication]:
    settings = CaseServiceSettings(
        database_url=case_database,
        jwt_secret=SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        db_pool_size=4,
    )
    application = CaseApplication(settings)
    application.settings = settings
    yield application
    application.close()


@pytest.fixture
def case_service(cases: CaseApplication) -> Iterator[CaseServiceServer]:
    server = CaseServiceServer(cases, cases.settings)
    yield server
    server.stop()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = async_engine(database_url)
    await create_outbox_tables(engine)
    yield engine
    await engine.dispose()


def service_token() -> str:
    return issue_token(SECRET, "service", "outbox-test", timedelta(hours=1))


def open_case(cases: CaseApplication, loan_id: str) -> str:
    """A case with one missed installment, 20 days late."""
    case = CollectionCase.open(
        loan_id=loan_id,
        product="consumer_loan",
        currency="CNY",
        principal=Decimal("50000.00"),
        borrower={
            "id": "B-1",
            "name": "Li Wei",
            "timezone": "Asia/Shanghai",
            "address": "1 Renmin Road",
            "phones": [{"number": "+8613800000001", "kind": "mobile", "owner": "borrower"}],
        },
        guarantors=[],
        collateral=None,
        now=NOW,
    )
    case.record_missed_payment(
        installment=1,
        due_date=(NOW - timedelta(days=20)).date(),
        amount=Decimal("1200.00"),
        now=NOW,
    )
    cases.save(case)
    return str(case.id)


def attempt(n: int) -> dict[str, str]:
    return {
        "channel": "call",
        "party": "borrower",
        "contact_point": "+8613800000001",
        "outcome": "no_answer",
        "occurred_at": (NOW - timedelta(minutes=60 - n)).isoformat(),
        "agent_id": f"agent-{n}",
    }
