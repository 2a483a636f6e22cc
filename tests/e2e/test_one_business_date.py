"""Every service counts days past due on the bank's business date and derives the bucket from
them, so all three say the same at every moment (also when it is already tomorrow in
Shanghai and still today in UTC); a legal cost recorded at legal-service is a case fact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arrears.business_date import business_date

from .system import System, wait_until
from .test_case_lifecycle import open_body


def _found(client: httpx.Client, path: str) -> dict[str, Any] | None:
    response = client.get(path)
    return response.json() if response.status_code == 200 else None


def _evening_utc() -> datetime:
    """The latest 20:00 UTC that has passed: 04:00 of the next day in Shanghai."""
    now = datetime.now(UTC)
    evening = now.replace(hour=20, minute=0, second=0, microsecond=0)
    return evening if evening <= now else evening - timedelta(days=1)


def test_a_case_45_days_past_due_reads_the_same_at_all_three_services(system: System) -> None:
    moment = _evening_utc()
    system.move_clock(moment)
    today = business_date(moment, "Asia/Shanghai")
    assert today == moment.date() + timedelta(days=1)  # the UTC date would count 44
    origination = system.client("case-service", "origination")
    case_id = origination.post("/v1/cases", json=open_body("E2E-DATE-1")).json()["case_id"]
    missed = origination.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={
            "installment": 1,
            "due_date": (today - timedelta(days=45)).isoformat(),
            "amount": "3000.00",
        },
    )
    assert missed.status_code == 201, missed.text

    case = system.client("case-service", "auditor").get(f"/v1/cases/{case_id}").json()
    contact = wait_until(
        lambda: _found(
            system.client("contact-service", "auditor"), f"/v1/cases/{case_id}/contact-view"
        )
    )
    legal = wait_until(
        lambda: _found(system.client("legal-service", "auditor"), f"/v1/legal/cases/{case_id}")
    )
    figures = {
        name: (view["days_past_due"], view["bucket"])
        for name, view in (("case", case), ("contact", contact), ("legal", legal))
    }
    assert figures == {name: (45, "M2") for name in figures}, figures


def _queued(client: httpx.Client, queue: str, case_id: str) -> dict[str, Any] | None:
    response = client.get(f"/v1/queues/{queue}", params={"limit": 500})
    assert response.status_code == 200, response.text
    return next((i for i in response.json()["items"] if i["case_id"] == case_id), None)


def test_the_work_queue_files_a_case_under_the_bucket_case_service_counts(system: System) -> None:
    """No stored bucket waits for an event or the nightly aging: the queue filters, orders and
    shows the bucket of days past due on today's business date, the moment the case is open."""
    moment = _evening_utc()
    system.move_clock(moment)
    today = business_date(moment, "Asia/Shanghai")
    body = open_body("E2E-DATE-QUEUE")
    # 15:00 or 16:00 in New York: a time the borrower may be called (Shanghai sleeps).
    body["borrower"] = {**body["borrower"], "timezone": "America/New_York"}
    origination = system.client("case-service", "origination")
    case_id = origination.post("/v1/cases", json=body).json()["case_id"]
    missed = origination.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={
            "installment": 1,
            "due_date": (today - timedelta(days=45)).isoformat(),
            "amount": "3000.00",
        },
    )
    assert missed.status_code == 201, missed.text
    case = system.client("case-service", "auditor").get(f"/v1/cases/{case_id}").json()
    assert (case["days_past_due"], case["bucket"]) == (45, "M2")

    collector = system.client("contact-service", "collector")
    item = wait_until(lambda: _queued(collector, "m2", case_id), timeout=60)
    assert (item["days_past_due"], item["bucket"]) == (case["days_past_due"], case["bucket"])
    assert _queued(collector, "m1", case_id) is None
    assert _queued(collector, "m3", case_id) is None
    assert _queued(collector, "all", case_id) is not None


def test_a_legal_cost_recorded_at_legal_service_is_in_the_case_history(system: System) -> None:
    origination = system.client("case-service", "origination")
    case_id = origination.post("/v1/cases", json=open_body("E2E-COST-1")).json()["case_id"]
    legal = system.client("legal-service", "legal")
    wait_until(lambda: _found(legal, f"/v1/legal/cases/{case_id}"))
    today = business_date(datetime.now(UTC), "Asia/Shanghai")
    cost = {"kind": "lawyer_fee", "amount": "800.00", "incurred_on": today.isoformat()}
    recorded = legal.post(
        f"/v1/legal/cases/{case_id}/legal-costs", json=cost, headers={"Idempotency-Key": "c-1"}
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["forwarded"] == "accepted"
    auditor = system.client("case-service", "auditor")
    history = auditor.get(f"/v1/cases/{case_id}/events").json()["events"]
    assert [e["data"]["amount"] for e in history if e["type"] == "LegalCostIncurred"] == ["800.00"]
    assert auditor.get(f"/v1/cases/{case_id}").json()["legal_costs_total"] == "800.00"

    def counted() -> bool:
        file = _found(legal, f"/v1/legal/cases/{case_id}") or {}
        return bool(file.get("cost_benefit", {}).get("cost_so_far", {}).get("amount") == "800.00")

    wait_until(counted, timeout=60)
