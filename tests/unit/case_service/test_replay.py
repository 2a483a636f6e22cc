"""Replay, the catalogue, JSON payloads, and the shape of state and events."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any
from uuid import UUID

from case_service.domain import EVENT_CLASSES, CollectionCase, event_payload

from .helpers import NOW, aged, called, given, missed, open_case, paid, promised, sued, texted

EXPECTED = [
    "CaseOpened",
    "PaymentMissed",
    "PaymentReceived",
    "DelinquencyBucketChanged",
    "RiskGraded",
    "ReminderSent",
    "ContactAttempted",
    "ContactLost",
    "ContactRegained",
    "PromiseToPayMade",
    "PromiseKept",
    "PromiseBroken",
    "NoticeServed",
    "FieldVisitMade",
    "PaymentPlanAgreed",
    "PlacedWithAgency",
    "RecalledFromAgency",
    "GuarantorDemanded",
    "ComplaintReceived",
    "ComplaintResolved",
    "DisputeRaised",
    "LawsuitFiled",
    "AssetPreservationGranted",
    "JudgmentEntered",
    "EnforcementStarted",
    "LegalCostIncurred",
    "WrittenOff",
    "CaseClosed",
    "CaseReopened",
    "JurisdictionChanged",
    "ContactPointAdded",
    "TimezoneCandidateAdded",
    "LegalHoldPlaced",
    "LegalHoldReleased",
    "PersonalDataErased",
]
PRIMITIVES = (str, int, bool, type(None), Decimal, datetime, date, UUID)


def replay(events: list[Any]) -> CollectionCase:
    case: CollectionCase = reduce(lambda agg, e: e.mutate(agg), events, None)
    return case


def a_busy_case() -> tuple[CollectionCase, list[Any]]:
    case = open_case()
    day1 = datetime(2026, 11, 1, 1, tzinfo=UTC)
    for step in [
        missed(1, date(2026, 9, 1)),
        missed(2, date(2026, 10, 1)),
        aged(date(2026, 11, 2)),
        promised("600.00"),
        paid("600.00"),
        *(
            called(number, day1 + timedelta(hours=hours))
            for number in ("+8613800000001", "+8613800000002", "+8613800000003")
            for hours in (0, 5, 10)
        ),
        texted("+8613800000001", day1),
        sued(claim="1800.00"),
    ]:
        step(case)
    case.place_with_agency(agency_id="AG", consent_ref="C", placed_at=NOW, now=NOW)
    case.record_legal_cost(
        kind="court_fee", amount=Decimal("50.00"), incurred_on=NOW.date(), reference="R-1",
        description=None, now=NOW,
    )  # fmt: skip
    return case, list(case.collect_events())


def test_the_catalogue_names_every_event() -> None:
    assert sorted(EVENT_CLASSES) == sorted(EXPECTED)
    for name, cls in EVENT_CLASSES.items():
        assert cls.__name__ == name
        assert isinstance(cls.personal_data, tuple)
    assert EVENT_CLASSES["ContactAttempted"].personal_data == ("contact_point", "notes")
    assert "borrower" in EVENT_CLASSES["CaseOpened"].personal_data


def test_replaying_the_events_rebuilds_the_same_state() -> None:
    case, events = a_busy_case()
    assert "ContactLost" in [type(e).__name__ for e in events]

    rebuilt = replay(events)

    assert rebuilt == case
    assert rebuilt.view(date(2026, 11, 2)) == case.view(date(2026, 11, 2))


def is_json_primitive(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_primitive(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_json_primitive(v) for v in value)
    return isinstance(value, PRIMITIVES)


def test_state_and_events_hold_only_json_transcodable_primitives() -> None:
    case, events = a_busy_case()
    state = {k: v for k, v in vars(case).items() if k != "_pending_events"}
    assert is_json_primitive(state)
    for event in events:
        assert is_json_primitive(dict(vars(event))), type(event).__name__


def test_event_payload_is_json_ready_and_without_the_envelope() -> None:
    _, events = a_busy_case()
    for event in events:
        payload = event_payload(event)
        json.dumps(payload)
        assert not {"originator_id", "originator_version", "timestamp", "originator_topic"} & set(
            payload
        )
    received = next(e for e in events if type(e).__name__ == "PaymentReceived")
    payload = event_payload(received)
    assert payload["amount"] == "600.00"
    assert payload["currency"] == "CNY"
    assert payload["paid_at"] == NOW.isoformat()


def test_every_event_is_stamped_with_the_given_now() -> None:
    _, events = a_busy_case()
    assert {e.timestamp for e in events} == {NOW}


def test_replays_a_thousand_events_fast() -> None:
    case = given(missed(1, date(2026, 1, 1)))
    start = datetime(2026, 1, 2, 1, tzinfo=UTC)
    for n in range(1000):
        moment = start + timedelta(hours=7 * n)
        case.record_contact_attempt(
            channel="call", party="borrower", contact_point=f"+861380000000{1 + n % 2}", outcome="no_answer",
            occurred_at=moment, agent_id=None, recording_ref=None, notes=None, now=moment,
        )  # fmt: skip
    events = list(case.collect_events())
    began = time.perf_counter()
    rebuilt = replay([*given_events(), *events])
    assert time.perf_counter() - began < 1.0
    assert rebuilt.version == case.version


def given_events() -> list[Any]:
    case = open_case()
    missed(1, date(2026, 1, 1))(case)
    return list(case.collect_events())
