"""The three services together: case events reach contact-service and legal-service, the
guard decides, outcomes and legal steps travel back to case-service through their outboxes
(with the caller's correlation id), and tasks go out on Kafka."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from .system import System, read_topic, runnable, wait_until
from .test_case_lifecycle import open_body

pytestmark = pytest.mark.skipif(
    not (runnable("contact_service") and runnable("legal_service")),
    reason="contact-service and legal-service are part of this test",
)
TODAY = date.today()


def _history(system: System, case_id: str) -> list[dict[str, Any]]:
    with system.client("case-service", "auditor") as auditor:
        events: list[dict[str, Any]] = auditor.get(f"/v1/cases/{case_id}/events").json()["events"]
        return events


def _feed(system: System, case_id: str) -> list[dict[str, Any]]:
    with system.client("case-service", "auditor") as auditor:
        page = auditor.get("/v1/events", params={"case_id": case_id}).json()
        events: list[dict[str, Any]] = page["events"]
        return events


def _events_of(
    system: System, case_id: str, *names: str, least: int = 1
) -> list[dict[str, Any]] | None:
    """The case's events of these types from the feed, once there are at least `least`."""
    found = [e for e in _feed(system, case_id) if e["type"].rsplit(".", 1)[-1] in names]
    return found if len(found) >= least else None


def test_contact_under_the_guard_reaches_the_case_with_its_correlation_id(system: System) -> None:
    origination = system.client("case-service", "origination")
    collector = system.client("contact-service", "collector")
    case_id = origination.post("/v1/cases", json=open_body("E2E-CONTACT-1")).json()["case_id"]
    origination.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={"installment": 1, "due_date": (TODAY - timedelta(days=5)).isoformat(), "amount": "3000.00"},
    )  # fmt: skip

    # contact-service learns of the case from Kafka.
    wait_until(
        lambda: collector.get(f"/v1/cases/{case_id}/contact-view").status_code == 200, timeout=90
    )

    # 23:00 in Shanghai is inside the quiet hours; 10:00 is not.
    tomorrow = datetime.combine(TODAY + timedelta(days=1), datetime.min.time(), UTC)
    ask = {
        "case_id": case_id,
        "party": "borrower",
        "channel": "call",
        "contact_point": "+8613900000001",
    }
    night = collector.post(
        "/v1/contact-permissions", json={**ask, "at": (tomorrow + timedelta(hours=15)).isoformat()}
    )
    day = collector.post(
        "/v1/contact-permissions", json={**ask, "at": (tomorrow + timedelta(hours=2)).isoformat()}
    )
    assert night.status_code == 200, night.text
    assert night.json()["allowed"] is False
    assert night.json()["reasons"]
    assert day.json()["allowed"] is True, day.text

    # The borrower calls in (inbound contact is always lawful) and promises to pay.
    attempt = collector.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={
            "channel": "call",
            "party": "borrower",
            "contact_point": "+8613900000001",
            "outcome": "right_party_contact",
            "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "recording_ref": "rec-e2e-1",
            "direction": "inbound",
        },
        headers={"X-Correlation-ID": "e2e-corr-attempt", "Idempotency-Key": "e2e-attempt-1"},
    )
    assert attempt.status_code in (201, 202), attempt.text
    promise = collector.post(
        f"/v1/cases/{case_id}/promises",
        json={"amount": "3000.00", "promised_date": (TODAY + timedelta(days=7)).isoformat(), "direction": "inbound"},
        headers={"X-Correlation-ID": "e2e-corr-promise", "Idempotency-Key": "e2e-promise-1"},
    )  # fmt: skip
    assert promise.status_code in (201, 202), promise.text

    events = wait_until(
        lambda: _events_of(system, case_id, "ContactAttempted", "PromiseToPayMade", least=2),
        timeout=60,
    )
    correlations = {e["type"].rsplit(".", 1)[-1]: e.get("correlationid") for e in events}
    assert correlations == {
        "ContactAttempted": "e2e-corr-attempt",
        "PromiseToPayMade": "e2e-corr-promise",
    }
    # Resending the same attempt records nothing new.
    collector.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={
            "channel": "call",
            "party": "borrower",
            "contact_point": "+8613900000001",
            "outcome": "right_party_contact",
            "occurred_at": events[0]["data"]["occurred_at"],
            "recording_ref": "rec-e2e-1",
            "direction": "inbound",
        },
        headers={"Idempotency-Key": "e2e-attempt-1"},
    )
    names = [e["type"] for e in _history(system, case_id)]
    assert names.count("ContactAttempted") == 1


def test_a_lawsuit_recorded_at_legal_service_reaches_the_case_and_tasks_go_out(
    system: System,
) -> None:
    origination = system.client("case-service", "origination")
    legal = system.client("legal-service", "legal")
    case_id = origination.post("/v1/cases", json=open_body("E2E-LEGAL-2")).json()["case_id"]
    # 91 days late today: the case enters M4+ today, so the ladder's day-0 step is due.
    for installment, days_ago in ((1, 91), (2, 61)):
        response = origination.post(
            f"/v1/cases/{case_id}/missed-payments",
            json={"installment": installment, "due_date": (TODAY - timedelta(days=days_ago)).isoformat(), "amount": "9000.00"},
        )  # fmt: skip
        assert response.status_code == 201, response.text

    wait_until(lambda: legal.get(f"/v1/legal/cases/{case_id}").status_code == 200, timeout=90)
    # Before it goes to court: the nightly aging records its bucket, and contact-service's
    # daily run gives it collection work.
    with system.client("case-service", "service") as service:
        assert service.post("/v1/aging-runs", json={}).status_code == 200
    with system.client("contact-service", "auditor") as auditor:
        wait_until(
            lambda: auditor.get(f"/v1/cases/{case_id}/contact-view").json()["bucket"] == "M4+",
            timeout=60,
        )
    with system.client("contact-service", "service") as service:
        run = service.post("/v1/daily-runs")
        assert run.status_code == 201, run.text
        assert run.json()["tasks_emitted"] >= 1, run.text
    tasks = read_topic(system, system.topics["contact_tasks"], case_id)
    assert tasks[0].type.startswith("collections.contact.")
    assert tasks[0].data["case_id"] == case_id
    filed_at = datetime.now(UTC) - timedelta(hours=1)
    lawsuit = legal.post(
        f"/v1/legal/cases/{case_id}/lawsuits",
        json={
            "court": "Huangpu District People's Court",
            "docket_number": "(2026) Hu 0101 Min Chu 777",
            "claim_amount": "18000.00",
            "filed_at": filed_at.isoformat(),
        },
        headers={"Idempotency-Key": "e2e-lawsuit-1", "X-Correlation-ID": "e2e-corr-lawsuit"},
    )
    assert lawsuit.status_code in (201, 202), lawsuit.text

    lawsuits = wait_until(
        lambda: [e for e in _feed(system, case_id) if e["type"].endswith("LawsuitFiled")],
        timeout=60,
    )
    assert len(lawsuits) == 1
    assert lawsuits[0]["correlationid"] == "e2e-corr-lawsuit"
    # legal-service's own view follows the case's events.
    wait_until(
        lambda: legal.get(f"/v1/legal/cases/{case_id}").json()["stage"] == "lawsuit_filed",
        timeout=60,
    )

    with system.client("legal-service", "service") as service:
        run = service.post("/v1/daily-runs")
        assert run.status_code in (200, 201), run.text
