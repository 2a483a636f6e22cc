"""Commands over HTTP: what they record, who may send them, and what bad input gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import auth

PAYMENT = {"amount": "500.00", "paid_at": "2026-11-02T08:00:00Z", "reference": "P-1"}


def _version(client: TestClient, case_id: str) -> int:
    return int(client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()["version"])


def test_a_payment_reduces_arrears_oldest_installment_first(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")
    missed(case_id, 2, "2026-11-01", "1200.00")

    response = client.post(
        f"/v1/cases/{case_id}/payments",
        json={"amount": "1200.00", "paid_at": "2026-11-02T08:00:00Z", "reference": "P-9"},
        headers=auth("origination"),
    )

    assert response.status_code == 201
    assert response.json()["events"] == ["PaymentReceived"]
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert case["arrears"] == "1200.00"
    assert case["days_past_due"] == 1  # only the 2026-11-01 installment is left unpaid


def test_a_full_collection_story_records_each_step(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-06-01", "1200.00")
    steps: list[tuple[str, str, dict[str, Any], str]] = [
        ("collector", "contact-attempts", {"channel": "call", "party": "borrower", "contact_point": "+8613800000001", "outcome": "right_party_contact", "occurred_at": "2026-11-02T02:00:00Z", "agent_id": "A-1", "recording_ref": "REC-1"}, "ContactAttempted"),
        ("collector", "promises", {"amount": "600.00", "promised_date": "2026-11-10"}, "PromiseToPayMade"),
        ("legal", "notices", {"kind": "demand_letter", "delivered_via": "registered_mail", "served_at": "2026-11-02T03:00:00Z", "proof": "EMS-123"}, "NoticeServed"),
        ("collector", "field-visits", {"visited_at": "2026-11-02T04:00:00Z", "address": "1 Renmin Road", "outcome": "met_borrower", "agent_id": "A-2"}, "FieldVisitMade"),
        ("legal", "lawsuits", {"court": "Shanghai Pudong Court", "docket_number": "2026-PD-1", "claim_amount": "1200.00", "filed_at": "2026-11-02T05:00:00Z"}, "LawsuitFiled"),
        ("legal", "judgments", {"docket_number": "2026-PD-1", "outcome": "in_favour", "awarded_amount": "1200.00", "entered_at": "2026-11-02T06:00:00Z"}, "JudgmentEntered"),
        ("legal", "enforcements", {"enforcement_ref": "ENF-1", "started_at": "2026-11-02T07:00:00Z"}, "EnforcementStarted"),
        ("legal", "legal-costs", {"kind": "court_fee", "amount": "50.00", "incurred_on": "2026-11-02", "reference": "FEE-1", "currency": "CNY"}, "LegalCostIncurred"),
    ]  # fmt: skip
    for role, path, body, event in steps:
        response = client.post(f"/v1/cases/{case_id}/{path}", json=body, headers=auth(role))
        assert response.status_code == 201, (path, response.text)
        assert event in response.json()["events"]

    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert case["legal_stage"] == "enforcement"
    assert case["legal_costs_total"] == "50.00"
    assert [p["status"] for p in case["promises"]] == ["open"]


def test_write_off_closes_the_case_and_then_forbids_contact(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-01-01", "1200.00")
    write_off = client.post(
        f"/v1/cases/{case_id}/write-offs",
        json={
            "reason": "uncollectable",
            "approved_by": "CRO",
            "written_off_at": "2026-11-02T00:00:00Z",
        },
        headers=auth("legal"),
    )
    contact = client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={"channel": "sms", "party": "borrower", "contact_point": "+8613800000001", "outcome": "delivered", "occurred_at": "2026-11-02T02:00:00Z"},
        headers=auth("collector"),
    )  # fmt: skip

    assert write_off.status_code == 201
    assert write_off.json()["events"] == ["WrittenOff", "CaseClosed"]
    assert contact.status_code == 409
    assert contact.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PAYMENT, "amount": "-5.00"}, "amount"),
        ({**PAYMENT, "amount": "0"}, "amount"),
        ({**PAYMENT, "amount": 500.0}, "amount"),
        ({**PAYMENT, "amount": "5.001"}, "amount"),
        ({**PAYMENT, "amount": "NaN"}, "amount"),
        ({**PAYMENT, "amount": "1e30"}, "amount"),
        ({**PAYMENT, "amount": "lots"}, "amount"),
        ({**PAYMENT, "paid_at": "yesterday"}, "paid_at"),
        ({**PAYMENT, "paid_at": "2026-11-02T08:00:00"}, "paid_at"),
        ({**PAYMENT, "currency": "USD"}, "currency"),
        ({**PAYMENT, "surprise": 1}, "surprise"),
        ({k: v for k, v in PAYMENT.items() if k != "reference"}, "reference"),
    ],
)
def test_bad_payment_is_422_naming_the_field_and_changes_nothing(
    client: TestClient,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
    body: dict[str, Any],
    field: str,
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")
    before = _version(client, case_id)

    response = client.post(f"/v1/cases/{case_id}/payments", json=body, headers=auth("origination"))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _version(client, case_id) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("contact-attempts", {"channel": "fax", "contact_point": "x", "outcome": "no_answer", "occurred_at": "2026-11-02T02:00:00Z"}, "channel"),
        ("missed-payments", {"installment": 0, "due_date": "2026-10-01", "amount": "10.00"}, "installment"),
        ("missed-payments", {"installment": 1, "due_date": "2026-02-30", "amount": "10.00"}, "due_date"),
        ("promises", {"amount": "10.00", "promised_date": "2026-10-01"}, "promised_date"),
        ("notices", {"kind": "threat", "delivered_via": "sms", "served_at": "2026-11-02T02:00:00Z"}, "kind"),
    ],
)  # fmt: skip
def test_bad_values_are_422_naming_the_field(
    client: TestClient,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")
    before = _version(client, case_id)
    role = "legal" if path == "notices" else "admin"

    response = client.post(f"/v1/cases/{case_id}/{path}", json=body, headers=auth(role))

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert _version(client, case_id) == before


def test_a_malformed_json_body_is_422(client: TestClient, open_case: Callable[..., str]) -> None:
    case_id = open_case()
    response = client.post(
        f"/v1/cases/{case_id}/payments",
        content=b"{not json",
        headers=auth("origination", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_judgment_without_lawsuit_is_409(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")
    response = client.post(
        f"/v1/cases/{case_id}/judgments",
        json={"docket_number": "X-1", "outcome": "in_favour", "awarded_amount": "1200.00", "entered_at": "2026-11-02T06:00:00Z"},
        headers=auth("legal"),
    )  # fmt: skip
    assert response.status_code == 409
    assert response.json()["status"] == 409


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        (None, "payments", 401),
        ("collector", "payments", 403),
        ("auditor", "payments", 403),
        ("legal", "promises", 403),
        ("collector", "lawsuits", 403),
    ],
)
def test_roles_are_enforced_and_a_refused_call_changes_nothing(
    client: TestClient,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
    role: str | None,
    path: str,
    expected: int,
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")
    before = _version(client, case_id)
    bodies = {
        "payments": PAYMENT,
        "promises": {"amount": "10.00", "promised_date": "2026-11-10"},
        "lawsuits": {"court": "C", "docket_number": "D", "claim_amount": "10.00", "filed_at": "2026-11-02T05:00:00Z"},
    }  # fmt: skip
    headers = auth(role) if role else {}

    response = client.post(f"/v1/cases/{case_id}/{path}", json=bodies[path], headers=headers)

    assert response.status_code == expected
    assert _version(client, case_id) == before


def test_a_forged_token_is_401(client: TestClient, open_case: Callable[..., str]) -> None:
    case_id = open_case()
    response = client.get(f"/v1/cases/{case_id}", headers={"Authorization": "Bearer abc.def.ghi"})
    assert response.status_code == 401


def test_if_match_on_another_version_is_412_and_changes_nothing(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")

    stale = client.post(
        f"/v1/cases/{case_id}/payments",
        json=PAYMENT,
        headers=auth("origination", **{"If-Match": '"1"'}),
    )
    current = client.post(
        f"/v1/cases/{case_id}/payments",
        json=PAYMENT,
        headers=auth("origination", **{"If-Match": '"2"'}),
    )

    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert current.status_code == 201
    assert current.json()["version"] == 3


def test_idempotency_key_replays_the_same_response_and_records_once(
    client: TestClient, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    case_id = open_case()
    missed(case_id, 1, "2026-10-01", "1200.00")
    headers = auth("origination", **{"Idempotency-Key": "pay-1"})

    first = client.post(f"/v1/cases/{case_id}/payments", json=PAYMENT, headers=headers)
    retry = client.post(f"/v1/cases/{case_id}/payments", json=PAYMENT, headers=headers)
    other = client.post(
        f"/v1/cases/{case_id}/payments", json={**PAYMENT, "amount": "1.00"}, headers=headers
    )

    assert first.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert case["version"] == 3
    assert case["arrears"] == "700.00"


def test_a_complaint_is_received_then_resolved_through_its_own_url(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-COMPLAINT-1")
    received = client.post(
        f"/v1/cases/{case_id}/complaints",
        json={
            "complaint_id": "CMP-7",
            "channel": "phone",
            "category": "collector_conduct",
            "description": "called three times in an hour",
            "received_at": "2026-11-02T08:00:00Z",
        },
        headers=auth("collector"),
    )
    assert received.status_code == 201, received.text

    resolved = client.post(
        f"/v1/cases/{case_id}/complaints/CMP-7/resolutions",
        json={"resolution": "apologised; calls limited", "resolved_at": "2026-11-02T08:30:00Z"},
        headers=auth("supervisor"),
    )
    unknown = client.post(
        f"/v1/cases/{case_id}/complaints/CMP-404/resolutions",
        json={"resolution": "n/a", "resolved_at": "2026-11-02T08:30:00Z"},
        headers=auth("supervisor"),
    )

    assert resolved.status_code == 201, resolved.text
    assert resolved.json()["events"] == ["ComplaintResolved"]
    assert unknown.status_code in (404, 409, 422), unknown.text
    assert unknown.headers["content-type"].startswith("application/problem+json")
