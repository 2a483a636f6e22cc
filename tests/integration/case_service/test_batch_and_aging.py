"""The daily file of missed payments, and the daily aging job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from arrears.clock import ManualClock
from case_service.aging import run_daily_aging
from case_service.aging_days import AgingDayRefused
from case_service.application import CaseApplication
from fastapi.testclient import TestClient

from .conftest import auth


def test_the_daily_file_records_each_item_and_rejects_only_the_bad_ones(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    first, second = open_case("L-A"), open_case("L-B")
    items = [
        {"loan_id": "L-A", "installment": 1, "due_date": "2026-10-01", "amount": "1200.00"},
        {"case_id": second, "installment": 1, "due_date": "2026-10-05", "amount": "800.00"},
        {"loan_id": "L-unknown", "installment": 1, "due_date": "2026-10-01", "amount": "10.00"},
        {"loan_id": "L-A", "installment": 2, "due_date": "2026-11-01", "amount": "1200.00", "currency": "USD"},
    ]  # fmt: skip

    response = client.post(
        "/v1/missed-payments:batch", json={"items": items}, headers=auth("origination")
    )
    resent = client.post(
        "/v1/missed-payments:batch", json={"items": items[:2]}, headers=auth("origination")
    )

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["received"], result["recorded"], result["unchanged"]) == (4, 2, 0)
    assert [(r["index"], r["status"], r["field"]) for r in result["rejected"]] == [
        (2, 404, None),
        (3, 422, "currency"),
    ]
    assert (resent.json()["recorded"], resent.json()["unchanged"]) == (0, 2)
    a = client.get(f"/v1/cases/{first}", headers=auth("auditor")).json()
    assert a["arrears"] == "1200.00"
    assert a["version"] == 2


def test_a_malformed_item_rejects_the_whole_file_naming_it(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-C")
    items = [
        {"loan_id": "L-C", "installment": 1, "due_date": "2026-10-01", "amount": "1200.00"},
        {"loan_id": "L-C", "installment": 2, "due_date": "2026-11-01", "amount": "-1.00"},
    ]

    response = client.post(
        "/v1/missed-payments:batch", json={"items": items}, headers=auth("origination")
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items.1.amount"
    assert client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # JSON orjson refuses and the stdlib reads: the model names the field, as before.
        (b'{"items": [{"loan_id": "L-E", "installment": 18446744073709551616, "due_date": '
         b'"2026-10-01", "amount": "1200.00"}]}', "items.0.installment"),
        (b'{"items": [{"loan_id": "L-E", "installment": NaN, "due_date": "2026-10-01", '
         b'"amount": "1200.00"}]}', "items.0.installment"),
        (b'{"items": [{"loan_id": "L-\\ud800", "installment": 1, "due_date": "2026-10-01", '
         b'"amount": "1200.00"}]}', "items.0.loan_id"),
        # Not JSON: the stdlib's own error, at its position (orjson's would be 28).
        (b'{"items": [{"loan_id": "L-E",}]}', "29"),
    ],
)  # fmt: skip
def test_a_body_the_fast_json_parser_refuses_is_read_as_the_stdlib_reads_it(
    client: TestClient, open_case: Callable[..., str], body: bytes, field: str
) -> None:
    case_id = open_case("L-E")

    response = client.post(
        "/v1/missed-payments:batch",
        content=body,
        headers={**auth("origination"), "content-type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()["version"] == 1


def test_aging_records_bucket_moves_once_per_day(
    cases: CaseApplication,
    clock: ManualClock,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    case_id = open_case("L-D")
    missed(case_id, 1, "2026-10-01", "1200.00")

    first = run_daily_aging(cases, date(2026, 11, 2))
    again = run_daily_aging(cases, date(2026, 11, 2))
    clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
    later = run_daily_aging(cases, date(2027, 1, 5))

    assert first.events["DelinquencyBucketChanged"] == 1
    assert sum(again.events.values()) == 0
    assert later.events["DelinquencyBucketChanged"] == 1
    history = [type(e).__name__ for e in cases.history(UUID(case_id))]
    assert history.count("DelinquencyBucketChanged") == 2


def test_aging_breaks_a_promise_whose_date_passed_unpaid(
    client: TestClient,
    cases: CaseApplication,
    clock: ManualClock,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    case_id = open_case("L-E")
    missed(case_id, 1, "2026-10-01", "1200.00")
    made = client.post(
        f"/v1/cases/{case_id}/promises",
        json={"amount": "1200.00", "promised_date": "2026-11-05"},
        headers=auth("collector"),
    )
    assert made.status_code == 201, made.text

    clock.set(datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    before = run_daily_aging(cases, date(2026, 11, 5))
    clock.set(datetime(2026, 11, 6, 9, 0, tzinfo=UTC))
    after = run_daily_aging(cases, date(2026, 11, 6))

    assert before.events["PromiseBroken"] == 0
    assert after.events["PromiseBroken"] == 1
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert [p["status"] for p in case["promises"]] == ["broken"]


def test_the_aging_endpoint_is_for_the_service_role(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    open_case("L-F")
    refused = client.post("/v1/aging-runs", json={"as_of": "2026-11-02"}, headers=auth("collector"))
    ran = client.post("/v1/aging-runs", json={"as_of": "2026-11-02"}, headers=auth("service"))
    assert refused.status_code == 403
    assert ran.status_code == 200
    assert ran.json()["cases"] == 1


def test_aging_to_a_day_after_today_is_refused_and_records_nothing(
    client: TestClient,
    cases: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    case_id = open_case("L-FUTURE")
    missed(case_id, 1, "2026-10-01", "1200.00")
    made = client.post(
        f"/v1/cases/{case_id}/promises",
        json={"amount": "1200.00", "promised_date": "2026-11-05"},
        headers=auth("collector"),
    )
    assert made.status_code == 201, made.text
    version = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()["version"]

    for as_of in ("2999-12-31", "2026-11-04"):
        refused = client.post("/v1/aging-runs", json={"as_of": as_of}, headers=auth("service"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "as_of"
    with pytest.raises(AgingDayRefused):
        run_daily_aging(cases, date(2026, 11, 20))

    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert case["version"] == version
    assert [p["status"] for p in case["promises"]] == ["open"]


def test_aging_to_a_day_before_the_last_aged_day_is_refused(
    client: TestClient, clock: ManualClock, open_case: Callable[..., str]
) -> None:
    open_case("L-BACK")
    clock.set(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    assert (
        client.post(
            "/v1/aging-runs", json={"as_of": "2026-11-10"}, headers=auth("service")
        ).status_code
        == 200
    )
    again = client.post("/v1/aging-runs", json={"as_of": "2026-11-10"}, headers=auth("service"))
    earlier = client.post("/v1/aging-runs", json={"as_of": "2026-11-09"}, headers=auth("service"))
    assert again.status_code == 200
    assert earlier.status_code == 422
    assert "last day already aged" in earlier.json()["detail"]
