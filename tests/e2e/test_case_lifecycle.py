"""A loan's whole collection story through case-service, its relay and Kafka, as an auditor
then replays it: open, miss, age through M1 to M4+, promise, break it, notice, sue, judge,
write off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from .system import System, read_topic

TODAY = date.today()


def open_body(loan_id: str) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": "60000.00",
        "borrower": {
            "id": f"B-{loan_id}",
            "name": "Zhang San",
            "timezone": "Asia/Shanghai",
            "address": "8 Huaihai Road, Shanghai",
            "phones": [{"number": "+8613900000001", "kind": "mobile", "owner": "borrower"}],
        },
    }


def test_a_new_arrear_ages_through_the_buckets_and_breaks_its_promise(system: System) -> None:
    origination = system.client("case-service", "origination")
    collector = system.client("case-service", "collector")
    service = system.client("case-service", "service")
    auditor = system.client("case-service", "auditor")
    case_id = origination.post("/v1/cases", json=open_body("E2E-AGING-1")).json()["case_id"]
    missed = origination.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={
            "installment": 1,
            "due_date": (TODAY - timedelta(days=1)).isoformat(),
            "amount": "5000.00",
        },
        headers={"Idempotency-Key": "miss-1"},
    )
    assert missed.status_code == 201, missed.text
    promise = collector.post(
        f"/v1/cases/{case_id}/promises",
        json={"amount": "5000.00", "promised_date": (TODAY + timedelta(days=3)).isoformat()},
    )
    assert promise.status_code == 201, promise.text

    # The nightly aging job, run for days to come (twice for one of them) as those days
    # come (aging to a day after the services' today is refused): the promise lapses, the
    # buckets roll, and a repeated day records nothing new.
    for days_ahead in (5, 5, 31, 61, 91):
        as_of = TODAY + timedelta(days=days_ahead)
        system.move_clock(datetime.combine(as_of, time(12), UTC))
        run = service.post("/v1/aging-runs", json={"as_of": as_of.isoformat()})
        assert run.status_code == 200, run.text
    early = service.post("/v1/aging-runs", json={"as_of": TODAY.isoformat()})
    assert early.status_code == 422, early.text  # before the last day aged to

    history = auditor.get(f"/v1/cases/{case_id}/events").json()["events"]
    rolls = [e["data"]["to_bucket"] for e in history if e["type"] == "DelinquencyBucketChanged"]
    assert rolls == ["M1", "M2", "M3", "M4+"]
    assert [e["type"] for e in history].count("PromiseBroken") == 1
    published = read_topic(
        system, system.topics["case_events"], case_id, lambda found: len(found) >= len(history)
    )
    assert [e.caseversion for e in published] == list(range(1, len(history) + 1))


def test_a_long_arrear_goes_to_court_and_is_written_off(system: System) -> None:
    origination = system.client("case-service", "origination")
    legal = system.client("case-service", "legal")
    supervisor = system.client("case-service", "supervisor")
    auditor = system.client("case-service", "auditor")
    case_id = origination.post("/v1/cases", json=open_body("E2E-LEGAL-1")).json()["case_id"]
    for installment, days_ago in ((1, 130), (2, 100)):
        due = TODAY - timedelta(days=days_ago)
        response = origination.post(
            f"/v1/cases/{case_id}/missed-payments",
            json={"installment": installment, "due_date": due.isoformat(), "amount": "5000.00"},
        )
        assert response.status_code == 201, response.text
    # Business times in the last few hours, in order (never in the future, whatever the hour).
    started = datetime.now(UTC).replace(microsecond=0)

    def at(step: int) -> str:
        return (started - timedelta(hours=5 - step)).isoformat().replace("+00:00", "Z")

    steps = [
        ("notices", {"kind": "demand_letter", "delivered_via": "courier", "served_at": at(1), "proof": "SF-1234567890"}),
        ("lawsuits", {"court": "Huangpu District People's Court", "docket_number": "(2026) Hu 0101 Min Chu 1234", "claim_amount": "10000.00", "filed_at": at(2)}),
        ("judgments", {"docket_number": "(2026) Hu 0101 Min Chu 1234", "outcome": "in_favour", "awarded_amount": "10000.00", "entered_at": at(3)}),
    ]  # fmt: skip
    for path, body in steps:
        response = legal.post(f"/v1/cases/{case_id}/{path}", json=body)
        assert response.status_code == 201, (path, response.text)
    written_off = supervisor.post(
        f"/v1/cases/{case_id}/write-offs",
        json={"reason": "no assets found", "approved_by": "committee-7", "written_off_at": at(4)},
    )
    assert written_off.status_code == 201, written_off.text

    final = auditor.get(f"/v1/cases/{case_id}").json()
    assert final["status"] == "closed"
    history = auditor.get(f"/v1/cases/{case_id}/events").json()["events"]
    names = [e["type"] for e in history]
    for expected in (
        "CaseOpened",
        "PaymentMissed",
        "NoticeServed",
        "LawsuitFiled",
        "JudgmentEntered",
        "WrittenOff",
        "CaseClosed",
    ):
        assert expected in names, names  # fmt: skip
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))

    # Everything reached Kafka, keyed by case, in case order, once.
    published = read_topic(
        system, system.topics["case_events"], case_id, lambda found: len(found) >= len(history)
    )
    assert [e.caseversion for e in published] == list(range(1, len(history) + 1))
    assert [e.type.rsplit(".", 1)[-1] for e in published] == names

    # The auditor's view of an earlier moment: the state just after the lawsuit.
    lawsuit_version = next(e["version"] for e in history if e["type"] == "LawsuitFiled")
    then = auditor.get(f"/v1/cases/{case_id}", params={"version": lawsuit_version}).json()
    assert then["legal_stage"] == "lawsuit_filed"
    assert then["status"] == "open"
    feed = auditor.get("/v1/events", params={"after": 0, "limit": 1000}).json()["events"]
    assert [e["caseversion"] for e in feed if e["subject"] == case_id] == list(
        range(1, len(history) + 1)
    )
