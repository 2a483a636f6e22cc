"""Opening cases and reading them back over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from arrears.clock import ManualClock
from case_service.domain import CollectionCase
from fastapi.testclient import TestClient

from .conftest import auth, open_body


def test_opening_a_case_returns_its_id_derived_from_the_loan(client: TestClient) -> None:
    response = client.post("/v1/cases", json=open_body("L-1"), headers=auth("origination"))

    assert response.status_code == 201
    assert response.json() == {"case_id": str(CollectionCase.id_for_loan("L-1")), "version": 1}


def test_opening_the_same_loan_again_returns_the_same_case_with_200(client: TestClient) -> None:
    first = client.post("/v1/cases", json=open_body("L-2"), headers=auth("origination"))
    again = client.post("/v1/cases", json=open_body("L-2"), headers=auth("origination"))

    assert again.status_code == 200
    assert again.json()["case_id"] == first.json()["case_id"]
    assert again.json()["version"] == 1


def test_a_case_reads_back_with_its_derived_state(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case("L-3")
    missed(case_id, 1, "2026-10-01", "1200.00")
    missed(case_id, 2, "2026-11-01", "1200.00")

    response = client.get(f"/v1/cases/{case_id}", headers=auth("auditor"))

    assert response.status_code == 200
    case = response.json()
    assert case["case_id"] == case_id
    assert case["loan_id"] == "L-3"
    assert case["version"] == 3
    assert case["status"] == "open"
    assert case["arrears"] == "2400.00"
    assert case["days_past_due"] == 32  # clock is 2026-11-02; oldest unpaid due 2026-10-01
    assert case["bucket"] == "M2"
    for key in ("risk_grade", "promises", "legal_stage", "limitation_expires_on"):
        assert key in case
    assert response.headers["ETag"] == '"3"'


def test_lookup_by_loan_id_finds_the_case(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-4")

    found = client.get("/v1/cases", params={"loan_id": "L-4"}, headers=auth("collector"))
    missing = client.get("/v1/cases", params={"loan_id": "L-none"}, headers=auth("collector"))

    assert [c["case_id"] for c in found.json()["items"]] == [case_id]
    assert missing.json()["items"] == []


def test_state_at_an_old_version_and_at_a_moment_by_recorded_time(
    client: TestClient,
    clock: ManualClock,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    case_id = open_case("L-5")
    missed(case_id, 1, "2026-10-01")
    time.sleep(0.01)
    before_second = datetime.now(UTC)  # the database's clock, not the business clock
    time.sleep(0.01)
    clock.advance(timedelta(days=3))  # business time, which as_of does not follow
    missed(case_id, 2, "2026-11-01")

    at_version = client.get(f"/v1/cases/{case_id}", params={"version": 2}, headers=auth("auditor"))
    at_moment = client.get(
        f"/v1/cases/{case_id}", params={"as_of": before_second.isoformat()}, headers=auth("auditor")
    )
    now = client.get(f"/v1/cases/{case_id}", headers=auth("auditor"))

    assert at_version.json()["version"] == 2
    assert at_version.json()["arrears"] == "1200.00"
    assert at_moment.json()["version"] == 2
    assert at_moment.json()["as_of_basis"] == "recorded_time"
    assert at_moment.json()["arrears"] == "1200.00"
    assert now.json()["arrears"] == "2400.00"


def test_a_version_the_case_never_had_is_404(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-6")

    response = client.get(f"/v1/cases/{case_id}", params={"version": 9}, headers=auth("auditor"))

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_history_lists_every_event_in_order(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case("L-7")
    missed(case_id, 1, "2026-10-01", "1200.00")

    history = client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).json()

    assert [(e["version"], e["type"]) for e in history["events"]] == [
        (1, "CaseOpened"),
        (2, "PaymentMissed"),
    ]
    assert history["events"][1]["data"]["amount"] == "1200.00"
    assert history["events"][0]["data"]["loan_id"] == "L-7"


def test_unknown_case_is_404_problem(client: TestClient) -> None:
    unknown = CollectionCase.id_for_loan("never-opened")

    read = client.get(f"/v1/cases/{unknown}", headers=auth("auditor"))
    command = client.post(
        f"/v1/cases/{unknown}/payments",
        json={"amount": "10.00", "paid_at": "2026-11-01T10:00:00Z", "reference": "P-1"},
        headers=auth("origination"),
    )

    assert read.status_code == 404
    assert command.status_code == 404
    assert command.json()["status"] == 404


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    metrics = client.get("/metrics")
    assert "http_requests_total" in metrics.text
