"""One case from its first missed payment to its write-off, through every service, as the
people who work it would: loan servicing opens it and reports the misses, the nightly aging
rolls it from M1 to M4+, a collector calls under contact-service's guard and takes a promise,
the promise breaks, a legal officer serves notice at legal-service, legal-service refers the
case, the bank sues, wins and writes off. Each service's read model and the tasks it emitted
are checked along the way, and at the end an auditor replays the case from the store, the
API, the feed and Kafka and finds the same story."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from arrears.business_date import business_date

from .system import System, read_topic, runnable, wait_until
from .test_case_lifecycle import open_body

pytestmark = pytest.mark.skipif(
    not (runnable("contact_service") and runnable("legal_service")),
    reason="contact-service and legal-service are part of this story",
)
LOAN = "E2E-STORY-1"
PHONE = "+8613900000001"  # the borrower's mobile in open_body
DOCKET = "(2026) Hu 0101 Min Chu 4242"

# The story in the order an auditor must read it (other events, such as risk grade changes,
# may sit between these).
STORY = [
    "CaseOpened",
    "PaymentMissed",
    "PaymentMissed",
    "PaymentMissed",
    "DelinquencyBucketChanged",  # M1
    "DelinquencyBucketChanged",  # M2
    "DelinquencyBucketChanged",  # M3
    "DelinquencyBucketChanged",  # M4+
    "ContactAttempted",
    "PromiseToPayMade",
    "PromiseBroken",
    "NoticeServed",
    "LawsuitFiled",
    "JudgmentEntered",
    "WrittenOff",
    "CaseClosed",
]
RECORDED = {"lawsuits": "LawsuitFiled", "judgments": "JudgmentEntered", "write-offs": "WrittenOff"}
STAGE_AFTER = {"lawsuits": "lawsuit_filed", "judgments": "judgment", "write-offs": "written_off"}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, (response.status_code, response.text)
    return response.json()


def _last_utc_hour(now: datetime, hour: int) -> datetime:
    """The latest whole `hour` o'clock UTC before `now`."""
    moment = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment if moment < now else moment - timedelta(days=1)


def _is_subsequence(wanted: list[str], names: list[str]) -> bool:
    remaining = iter(names)
    return all(name in remaining for name in wanted)


def _correlation_ids_logged(system: System, service: str) -> set[str]:
    """The correlation ids on the JSON lines of a service's log."""
    found = set()
    for line in system.services[service].log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # not one of ours (e.g. a library writing plain text)
        if isinstance(entry, dict) and entry.get("correlation_id"):
            found.add(entry["correlation_id"])
    return found


def test_one_case_from_first_missed_payment_to_write_off(system: System) -> None:
    now = datetime.now(UTC)
    today = business_date(now)  # the bank's business date (Asia/Shanghai), as services count
    origination = system.client("case-service", "origination")
    aging = system.client("case-service", "service")
    auditor = system.client("case-service", "auditor")
    collector = system.client("contact-service", "collector")
    contact_runs = system.client("contact-service", "service")
    officer = system.client("legal-service", "legal")
    legal_runs = system.client("legal-service", "service")
    committee = system.client("legal-service", "supervisor")

    def history() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = _json(auditor.get(f"/v1/cases/{case_id}/events"), 200)[
            "events"
        ]
        return events

    def names() -> list[str]:
        return [e["type"] for e in history()]

    def contact_view() -> dict[str, Any]:
        view: dict[str, Any] = _json(collector.get(f"/v1/cases/{case_id}/contact-view"), 200)
        return view

    def legal_file() -> dict[str, Any]:
        found: dict[str, Any] = _json(officer.get(f"/v1/legal/cases/{case_id}"), 200)
        return found

    # --- Loan servicing: the case opens and three installments are reported missed. ------
    case_id = _json(origination.post("/v1/cases", json=open_body(LOAN)), 201)["case_id"]
    for installment, days_ago in ((1, 91), (2, 61), (3, 31)):
        _json(
            origination.post(
                f"/v1/cases/{case_id}/missed-payments",
                json={
                    "installment": installment,
                    "due_date": (today - timedelta(days=days_ago)).isoformat(),
                    "amount": "5000.00",
                },
                headers={"Idempotency-Key": f"story-miss-{installment}"},
            ),
            201,
        )

    # --- The nightly aging, as it ran on four nights: M1, M2, M3, and M4+ today. ---------
    for days_ago in (86, 60, 30, 0):
        as_of = (today - timedelta(days=days_ago)).isoformat()
        _json(aging.post("/v1/aging-runs", json={"as_of": as_of}), 200)
    rolls = [e["data"]["to_bucket"] for e in history() if e["type"] == "DelinquencyBucketChanged"]
    assert rolls == ["M1", "M2", "M3", "M4+"]

    # contact-service follows the case from Kafka.
    def at_m4() -> dict[str, Any] | None:
        response = collector.get(f"/v1/cases/{case_id}/contact-view")
        return (
            view
            if response.status_code == 200 and (view := response.json())["bucket"] == "M4+"
            else None
        )

    view = wait_until(at_m4, timeout=90)
    # contact-service counts days in the borrower's time zone (Shanghai, UTC+8).
    shanghai_today = (now + timedelta(hours=8)).date()
    assert view["days_past_due"] == (shanghai_today - today).days + 91
    assert view["arrears"] == "15000.00"
    assert view["status"] == "open"

    # --- A collector calls, under the guard. --------------------------------------------
    # 10:00 in Shanghai is inside the permitted hours; 23:00 the night before is not.
    daytime = _last_utc_hour(now, 2)
    night = daytime - timedelta(hours=11)
    ask = {"case_id": case_id, "party": "borrower", "channel": "call", "contact_point": PHONE}
    at_night = _json(
        collector.post("/v1/contact-permissions", json={**ask, "at": _stamp(night)}), 200
    )
    assert at_night["allowed"] is False
    assert at_night["reasons"]
    by_day = _json(
        collector.post("/v1/contact-permissions", json={**ask, "at": _stamp(daytime)}), 200
    )
    assert by_day["allowed"] is True, by_day

    call = {
        "channel": "call",
        "party": "borrower",
        "contact_point": PHONE,
        "outcome": "right_party_contact",
        "recording_ref": "rec-story-1",
    }
    refused = collector.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={**call, "occurred_at": _stamp(night)},
        headers={"Idempotency-Key": "story-call-night"},
    )
    assert refused.status_code == 409, refused.text  # the guard said no: nothing recorded
    _json(
        collector.post(
            f"/v1/cases/{case_id}/contact-attempts",
            json={**call, "occurred_at": _stamp(daytime)},
            headers={"Idempotency-Key": "story-call", "X-Correlation-ID": "story-corr-call"},
        ),
        201,
        202,
    )
    # On the call the borrower promises to pay tomorrow.
    promised_date = today + timedelta(days=1)
    _json(
        collector.post(
            f"/v1/cases/{case_id}/promises",
            json={
                "amount": "5000.00",
                "promised_date": promised_date.isoformat(),
                "made_at": _stamp(daytime + timedelta(minutes=4)),
                "contact_point": PHONE,
            },
            headers={"Idempotency-Key": "story-promise", "X-Correlation-ID": "story-corr-promise"},
        ),
        201,
        202,
    )
    wait_until(lambda: "PromiseToPayMade" in names(), timeout=60)
    assert names().count("ContactAttempted") == 1
    promised = wait_until(lambda: contact_view()["open_promise"], timeout=60)
    assert promised["promised_date"] == promised_date.isoformat()
    assert promised["amount"] == "5000.00"
    attempts = contact_view()["recent_attempts"]
    assert [(a["outcome"], a["inbound"]) for a in attempts] == [("right_party_contact", False)]
    assert attempts[0]["contact_point"] != PHONE  # masked

    # --- The promised day passes without a payment: the next night's aging breaks it. ----
    promise_version = history()[-1]["version"]
    next_day = promised_date + timedelta(days=1)
    system.move_clock(datetime.combine(next_day, time(12), UTC))  # that night comes
    _json(aging.post("/v1/aging-runs", json={"as_of": next_day.isoformat()}), 200)
    assert names().count("PromiseBroken") == 1
    wait_until(lambda: contact_view()["promises_broken"] == 1, timeout=60)
    assert contact_view()["open_promise"] is None

    # contact-service's daily run gives the case its next collection work, on Kafka.
    _json(contact_runs.post("/v1/daily-runs"), 201)
    contact_tasks = read_topic(system, system.topics["contact_tasks"], case_id)
    assert all(t.type.startswith("collections.contact.") for t in contact_tasks)
    assert all(t.data["case_id"] == case_id for t in contact_tasks)

    # --- A legal officer serves the demand at legal-service; it reaches the case. --------
    # legal-service has seen the broken promise, and says what should happen next.
    head = history()[-1]["version"]
    seen = wait_until(
        lambda: (
            (r := officer.get(f"/v1/legal/cases/{case_id}")).status_code == 200
            and (r.json()["version"] or 0) >= head
            and r.json()
        ),
        timeout=90,
    )
    assert seen["days_past_due"] == 91 + (next_day - today).days  # the services are on next_day
    assert seen["arrears"] == {"amount": "15000.00", "currency": "CNY"}
    assert "ReferToLegal" in [r["kind"] for r in seen["recommendations"]], seen["recommendations"]
    _json(
        officer.post(
            f"/v1/legal/cases/{case_id}/notices",
            json={
                "kind": "demand_letter",
                "delivered_via": "courier",
                "served_at": _stamp(now - timedelta(hours=3)),
                "proof": "SF-4242424242",
            },
            headers={"Idempotency-Key": "story-notice", "X-Correlation-ID": "story-corr-notice"},
        ),
        201,
        202,
    )
    wait_until(lambda: legal_file()["stage"] == "demand_served", timeout=60)

    # --- legal-service's daily run refers it: 91 days late, promise broken, worth suing. -
    _json(legal_runs.post("/v1/daily-runs"), 200, 201)
    referred = legal_file()
    assert referred["referred_on"] == next_day.isoformat()
    assert "ReferToLegal" in [t["task_type"] for t in referred["tasks"]]
    legal_tasks = read_topic(
        system,
        system.topics["legal_tasks"],
        case_id,
        lambda found: any(t.type.endswith("ReferToLegal") for t in found),
    )
    assert all(t.data["case_id"] == case_id for t in legal_tasks)

    # --- The bank sues, wins, and the committee writes the rest off. --------------------
    steps = [
        (officer, "lawsuits", {"court": "Huangpu District People's Court", "docket_number": DOCKET, "claim_amount": "15000.00", "filed_at": _stamp(now - timedelta(hours=2))}),
        (officer, "judgments", {"docket_number": DOCKET, "outcome": "in_favour", "awarded_amount": "15000.00", "entered_at": _stamp(now - timedelta(hours=1))}),
        (committee, "write-offs", {"reason": "no assets found", "approved_by": "committee-7", "written_off_at": _stamp(now - timedelta(minutes=30))}),
    ]  # fmt: skip
    for client, step, body in steps:
        _json(
            client.post(
                f"/v1/legal/cases/{case_id}/{step}",
                json=body,
                headers={
                    "Idempotency-Key": f"story-{step}",
                    "X-Correlation-ID": f"story-corr-{step}",
                },
            ),
            201,
            202,
        )
        # Each step is on the case (and legal-service has seen it) before the next is sent.
        wait_until(lambda step=step: RECORDED[step] in names(), timeout=60)
        wait_until(lambda step=step: legal_file()["stage"] == STAGE_AFTER[step], timeout=60)
    assert "CaseClosed" in names()

    # --- Every service's read model ends where the story does. --------------------------
    assert _json(auditor.get(f"/v1/cases/{case_id}"), 200)["status"] == "closed"
    wait_until(lambda: contact_view()["status"] == "closed", timeout=60)
    final = wait_until(lambda: (f := legal_file())["status"] == "closed" and f, timeout=60)
    assert final["stage"] == "written_off"

    # --- An auditor replays it. ----------------------------------------------------------
    events = history()
    story = [e["type"] for e in events]
    assert _is_subsequence(STORY, story), story
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    by_type = {e["type"]: e for e in events}
    assert by_type["PromiseBroken"]["data"]["promised_date"] == promised_date.isoformat()
    assert by_type["WrittenOff"]["data"]["approved_by"] == "committee-7"

    # The feed carries each consequence with the correlation id of the request behind it.
    feed = _json(auditor.get("/v1/events", params={"case_id": case_id}), 200)["events"]
    assert [e["caseversion"] for e in feed] == [e["version"] for e in events]
    correlation = {e["type"].rsplit(".", 1)[-1]: e.get("correlationid") for e in feed}
    assert correlation["ContactAttempted"] == "story-corr-call"
    assert correlation["PromiseToPayMade"] == "story-corr-promise"
    assert correlation["NoticeServed"] == "story-corr-notice"
    assert correlation["LawsuitFiled"] == "story-corr-lawsuits"
    assert correlation["JudgmentEntered"] == "story-corr-judgments"
    assert correlation["WrittenOff"] == "story-corr-write-offs"

    # Every service that handled a request's consequences logged them under its id.
    for service in ("case-service", "contact-service", "legal-service"):
        logged = _correlation_ids_logged(system, service)
        for request in ("story-corr-promise", "story-corr-notice", "story-corr-write-offs"):
            assert request in logged, (service, request)

    # Kafka has the whole case, keyed by it, in order, once.
    published = read_topic(
        system,
        system.topics["case_events"],
        case_id,
        lambda found: len(found) >= len(events),
    )
    assert [e.caseversion for e in published] == [e["version"] for e in events]
    assert [e.type.rsplit(".", 1)[-1] for e in published] == story

    # The state as it was just after the promise: open, promise pending, not yet in court.
    then = _json(auditor.get(f"/v1/cases/{case_id}", params={"version": promise_version}), 200)
    assert then["status"] == "open"
    assert then["legal_stage"] == "none"

    # Straight from the event store, as `make audit` reads it: the same events, decrypted.
    replay = subprocess.run(
        [sys.executable, "-m", "case_service.audit_cli", "history", "--loan-id", LOAN],
        env={**system.env, "DATABASE_URL": system.databases["case"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in replay.stdout.splitlines()]
    assert [(line["version"], line["type"]) for line in lines] == [
        (e["version"], e["type"]) for e in events
    ]
    assert lines[0]["data"]["borrower"]["name"] == "Zhang San"
