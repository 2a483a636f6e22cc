"""case-service against a real PostgreSQL: the app in-process, the HTTP stack for real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arrears.auth import issue_token
from arrears.clock import ManualClock
from case_service.api.app import create_app
from case_service.application import CaseApplication
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher
from fastapi.testclient import TestClient

JWT_SECRET = "integration-test-secret-that-is-long-enough"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def case_settings(database_url: str, kafka_bootstrap_servers: str) -> CaseServiceSettings:
    return CaseServiceSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        jwt_secret=JWT_SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        snapshot_interval=10,
        db_pool_size=4,
    )


@pytest.fixture
def cases(case_settings: CaseServiceSettings, clock: ManualClock) -> Iterator[CaseApplication]:
    application = CaseApplication(case_settings, clock=clock)
    yield application
    application.close()


@pytest.fixture
def client(case_settings: CaseServiceSettings, cases: CaseApplication) -> Iterator[TestClient]:
    with TestClient(create_app(case_settings, application=cases)) as test_client:
        yield test_client


def token(role: str) -> str:
    return issue_token(JWT_SECRET, role, f"test-{role}", timedelta(hours=1))


def auth(role: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role)}", **headers}


def open_body(loan_id: str = "L-1001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "loan_id": loan_id,
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": "100000.00",
        "borrower": {
            "id": "B-1",
            "name": "Li Wei",
            "timezone": "Asia/Shanghai",
            "address": "1 Renmin Road, Shanghai",
            "phones": [
                {"number": "+8613800000001", "kind": "mobile", "owner": "borrower"},
                {"number": "+8613800000002", "kind": "home", "owner": "borrower"},
                {"number": "+8613800000003", "kind": "mobile", "owner": "spouse"},
            ],
        },
        "guarantors": [{"id": "G-1", "name": "Wang Fang", "phones": []}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def open_case(client: TestClient) -> Callable[..., str]:
    def _open(loan_id: str = "L-1001", **overrides: Any) -> str:
        response = client.post(
            "/v1/cases", json=open_body(loan_id, **overrides), headers=auth("origination")
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["case_id"])

    return _open


@pytest.fixture
def missed(client: TestClient) -> Callable[..., Any]:
    def _missed(case_id: str, installment: int, due_date: str, amount: str = "1200.00") -> Any:
        response = client.post(
            f"/v1/cases/{case_id}/missed-payments",
            json={"installment": installment, "due_date": due_date, "amount": amount},
            headers=auth("origination"),
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    return _missed
