"""A real case-service for legal-service's tests: in-process, or served by uvicorn on a
free loopback port that a test can start late (case-service "away", then back)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import uvicorn
from arrears_dev.embedded.ports import LOOPBACK, free_port
from arrears_dev.embedded.postgres import create_database, drop_database, with_database
from arrears_dev.testing.names import unique_name
from case_service.api.app import create_app as create_case_service
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher

from .conftest import JWT_SECRET

NOW = datetime.now(UTC)


class CaseServiceServer:
    """case-service served by uvicorn in a thread on a free loopback port."""

    def __init__(self, cases: CaseApplication, settings: CaseServiceSettings) -> None:
        self.app = create_case_service(settings, application=cases)
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
def cases(postgres_url_base: str) -> Iterator[CaseApplication]:
    name = unique_name("cases")
    create_database(postgres_url_base, name)
    settings = CaseServiceSettings(
        database_url=with_database(postgres_url_base, name),
        jwt_secret=JWT_SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        db_pool_size=4,
    )
    application = CaseApplication(settings)
    application.settings = settings
    yield application
    application.close()
    drop_database(postgres_url_base, name)


@pytest.fixture
def case_service(cases: CaseApplication) -> Iterator[CaseServiceServer]:
    server = CaseServiceServer(cases, cases.settings)
    yield server
    server.stop()


def open_case(cases: CaseApplication) -> str:
    case = CollectionCase.open(
        loan_id="L-LEGAL-1",
        product="consumer_loan",
        currency="CNY",
        principal=Decimal("100000.00"),
        borrower={"id": "B-1", "name": "Li Wei", "timezone": "Asia/Shanghai", "phones": []},
        guarantors=[],
        collateral=None,
        now=NOW - timedelta(days=200),
    )
    case.record_missed_payment(
        installment=1,
        due_date=(NOW - timedelta(days=150)).date(),
        amount=Decimal("9000.00"),
        now=NOW - timedelta(days=149),
    )
    cases.save(case)
    return str(case.id)
