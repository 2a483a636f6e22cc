"""The correlation id of a request travels with the events it recorded, to the feed and Kafka."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .conftest import auth, open_body


def test_each_event_carries_the_correlation_id_of_the_request_that_recorded_it(
    client: TestClient,
) -> None:
    opened = client.post(
        "/v1/cases",
        json=open_body("L-CORR-1"),
        headers=auth("origination", **{"X-Correlation-ID": "corr-open"}),
    )
    case_id = opened.json()["case_id"]
    assert opened.headers["X-Correlation-ID"] == "corr-open"
    client.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={"installment": 1, "due_date": "2026-10-01", "amount": "1200.00"},
        headers=auth("origination", **{"X-Correlation-ID": "corr-miss"}),
    )
    client.post(  # no correlation id given: one is made for the request
        f"/v1/cases/{case_id}/missed-payments",
        json={"installment": 2, "due_date": "2026-10-15", "amount": "1200.00"},
        headers=auth("origination"),
    )

    feed = client.get("/v1/events", params={"case_id": case_id}, headers=auth("auditor")).json()[
        "events"
    ]

    by_version = {e["caseversion"]: e.get("correlationid") for e in feed}
    assert by_version[1] == "corr-open"
    assert all(by_version[v] == "corr-miss" for v in by_version if 1 < v < max(by_version))
    made_up = by_version[max(by_version)]
    assert made_up not in (None, "corr-open", "corr-miss")


def test_a_replayed_request_records_no_second_correlation(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-CORR-2")
    body = {"installment": 1, "due_date": "2026-10-01", "amount": "1200.00"}
    for correlation in ("first", "second"):
        response = client.post(
            f"/v1/cases/{case_id}/missed-payments",
            json=body,
            headers=auth(
                "origination", **{"Idempotency-Key": "k-1", "X-Correlation-ID": correlation}
            ),
        )
        assert response.status_code == 201
    feed = client.get("/v1/events", params={"case_id": case_id}, headers=auth("auditor")).json()[
        "events"
    ]
    assert [e.get("correlationid") for e in feed if e["caseversion"] > 1] == ["first"] * (
        len(feed) - 1
    )


def test_the_history_names_the_correlation_id_each_event_was_recorded_with(
    client: TestClient,
) -> None:
    opened = client.post(
        "/v1/cases",
        json=open_body("L-CORR-HIST"),
        headers=auth("origination", **{"X-Correlation-ID": "corr-hist-open"}),
    )
    case_id = opened.json()["case_id"]
    client.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={"installment": 1, "due_date": "2026-10-01", "amount": "1200.00"},
        headers=auth("origination", **{"X-Correlation-ID": "corr-hist-miss"}),
    )

    events = client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).json()["events"]

    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["correlation_id"] == "corr-hist-open"
    assert {e["correlation_id"] for e in events[1:]} == {"corr-hist-miss"}
