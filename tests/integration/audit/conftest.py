"""The audit trail against a real PostgreSQL: a store with a few cases, a checkpointer, keys."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from arrears.auth import issue_token
from arrears.clock import Clock, ManualClock
from case_service.api.app import create_app
from case_service.application import CaseApplication
from case_service.audit.note import SignerKey
from case_service.audit.store import AuditStore
from case_service.checkpointer.runner import Checkpointer
from case_service.commands import Command
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher
from fastapi.testclient import TestClient

JWT_SECRET = "integration-test-secret-that-is-long-enough"
ORIGIN = "arrears/case-service"
SEED = base64.b64encode(bytes(range(32))).decode()
OTHER_SEED = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture
def signer() -> SignerKey:
    return SignerKey.from_base64(ORIGIN, SEED)


@pytest.fixture
def clock() -> Clock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def case_settings(database_url: str, signer: SignerKey) -> CaseServiceSettings:
    return CaseServiceSettings(
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        snapshot_interval=10,
        db_pool_size=4,
        checkpoint_public_key=signer.verifier.text(),
    )


@pytest.fixture
def cases(case_settings: CaseServiceSettings, clock: Clock) -> Iterator[CaseApplication]:
    application = CaseApplication(case_settings, clock=clock)
    yield application
    application.close()


@pytest.fixture
def store(cases: CaseApplication) -> AuditStore:
    return AuditStore(cases.recorder_)


@pytest.fixture
def checkpointer(store: AuditStore, signer: SignerKey) -> Checkpointer:
    return Checkpointer(store, signer, every_events=1, every_seconds=0)


@pytest.fixture
def client(case_settings: CaseServiceSettings, cases: CaseApplication) -> Iterator[TestClient]:
    with TestClient(create_app(case_settings, application=cases)) as test_client:
        yield test_client


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, role, 'test', timedelta(hours=1))}"}


def open_fields(loan_id: str) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": "100000.00",
        "borrower": {
            "id": "B-1",
            "name": "Li Wei",
            "timezone": "Asia/Shanghai",
            "address": "1 Renmin Road",
            "phones": [{"number": "+8613800000001", "kind": "mobile", "owner": "borrower"}],
        },
        "guarantors": [],
        "collateral": None,
    }


@pytest.fixture
def portfolio(cases: CaseApplication, clock: Clock) -> Callable[..., list[Any]]:
    """Open `loans` cases, then record `missed` installments on each, in one batch per round
    (so one transaction carries events of many cases, as the writer does)."""

    def _make(loans: int = 3, missed: int = 3) -> list[Any]:
        ids = [cases.open_case(**open_fields(f"L-{n}"))[0].id for n in range(loans)]
        for installment in range(1, missed + 1):
            due = (clock.now() - timedelta(days=40 - installment)).date()

            def _miss(case: Any, installment: int = installment, due: Any = due) -> None:
                case.record_missed_payment(
                    installment=installment,
                    due_date=due,
                    amount=Decimal("1200.00"),
                    now=clock.now(),
                )

            outcomes = cases.execute_all([Command(case_id, _miss) for case_id in ids])
            assert all(o.error is None for o in outcomes), outcomes
        return ids

    return _make
