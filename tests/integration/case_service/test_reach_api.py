"""Jurisdiction, candidate zones and contact points over HTTP, and a case opened before
CaseOpened version 2 read back in the new shape."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

from .conftest import START, auth, open_body


def test_jurisdiction_and_candidate_zones_on_open_appear_in_the_case(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    borrower = open_body()["borrower"] | {"candidate_timezones": ["America/Los_Angeles"]}
    case_id = open_case("L-J1", jurisdiction="US-RegF", borrower=borrower)

    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    events = client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).json()

    assert case["jurisdiction"] == "US-RegF"
    assert case["borrower"]["candidate_timezones"] == ["America/Los_Angeles"]
    opened = events["events"][0]["data"]
    assert opened["jurisdiction"] == "US-RegF"
    assert opened["borrower"]["candidate_timezones"] == ["America/Los_Angeles"]


def test_without_a_jurisdiction_the_currency_rule_decides(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    us = open_case("L-J2", currency="USD")
    cn = open_case("L-J3")
    assert client.get(f"/v1/cases/{us}", headers=auth("auditor")).json()["jurisdiction"] == (
        "US-RegF"
    )
    assert client.get(f"/v1/cases/{cn}", headers=auth("auditor")).json()["jurisdiction"] == "CN"


def test_localtime_and_unknown_jurisdictions_are_refused_naming_the_field(
    client: TestClient,
) -> None:
    borrower = open_body()["borrower"] | {"candidate_timezones": ["localtime"]}
    zone = client.post(
        "/v1/cases", json=open_body("L-J4", borrower=borrower), headers=auth("origination")
    )
    place = client.post(
        "/v1/cases", json=open_body("L-J5", jurisdiction="FR"), headers=auth("origination")
    )
    assert zone.status_code == 422
    assert "candidate_timezones" in zone.text
    assert place.status_code == 422
    assert "jurisdiction" in place.text


def test_a_contact_point_is_recorded_as_contact_point_added(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-J6")
    body = {"number": "+8613900000042", "kind": "mobile", "owner": "spouse", "source": "skip_trace"}
    added = client.post(f"/v1/cases/{case_id}/contact-points", json=body, headers=auth("collector"))
    again = client.post(f"/v1/cases/{case_id}/contact-points", json=body, headers=auth("collector"))
    extra = client.post(
        f"/v1/cases/{case_id}/contact-points",
        json=body | {"number": "+8613900000043", "verified": True},
        headers=auth("collector"),
    )

    assert added.status_code == 201, added.text
    assert added.json()["events"] == ["ContactPointAdded"]
    assert again.status_code == 409
    assert extra.status_code == 422
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert [(p["owner"], p["source"]) for p in case["contact_points"]] == [("spouse", "skip_trace")]


def test_a_jurisdiction_change_and_a_new_zone_are_events(
    client: TestClient, open_case: Callable[..., str]
) -> None:
    case_id = open_case("L-J7")
    moved = client.post(
        f"/v1/cases/{case_id}/jurisdiction-changes",
        json={
            "jurisdiction": "UK-CONC",
            "reason": "moved to London",
            "changed_at": START.isoformat(),
        },
        headers=auth("supervisor"),
    )
    zone = client.post(
        f"/v1/cases/{case_id}/timezone-candidates",
        json={"timezone": "Europe/London", "source": "address"},
        headers=auth("collector"),
    )
    assert moved.status_code == 201, moved.text
    assert zone.status_code == 201, zone.text
    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert case["jurisdiction"] == "UK-CONC"
    assert case["candidate_timezones"] == ["Europe/London"]


def _store_v1_case_opened(cases: CaseApplication, loan_id: str) -> uuid.UUID:
    """Write a CaseOpened exactly as version 1 of the class stored it (no jurisdiction, no
    candidate zones, no class_version key)."""
    case = CollectionCase.open(
        loan_id=loan_id,
        product="consumer_loan",
        currency="CNY",
        principal="100000.00",
        borrower=open_body()["borrower"],
        guarantors=[],
        collateral=None,
        now=START,
    )
    [event] = case.collect_events()
    state: dict[str, Any] = copy.deepcopy(dict(vars(event)))
    case_id = state.pop("originator_id")
    version = state.pop("originator_version")
    state.pop("jurisdiction")
    state["borrower"].pop("candidate_timezones")
    raw = cases.mapper.transcoder.encode(state)
    if cases.mapper.compressor:
        raw = cases.mapper.compressor.compress(raw)
    if cases.mapper.cipher:
        raw = cases.mapper.cipher.encrypt(raw)
    record = StoredEvent(
        originator_id=case_id, originator_version=version, topic=get_topic(type(event)), state=raw
    )
    cases.recorder.insert_events([record])
    return uuid.UUID(str(case_id))


def test_a_case_opened_as_version_1_is_read_in_the_new_shape(
    client: TestClient, cases: CaseApplication
) -> None:
    case_id = _store_v1_case_opened(cases, "L-V1")

    case = client.get(f"/v1/cases/{case_id}", headers=auth("auditor"))
    events = client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).json()

    assert case.status_code == 200, case.text
    assert case.json()["jurisdiction"] == "CN"
    assert case.json()["borrower"]["candidate_timezones"] == []
    opened = events["events"][0]["data"]
    assert opened["jurisdiction"] == "CN"
    assert opened["borrower"]["candidate_timezones"] == []
    # The upcast case takes commands as any other.
    added = client.post(
        f"/v1/cases/{case_id}/timezone-candidates",
        json={"timezone": "Asia/Tokyo", "source": "borrower"},
        headers=auth("collector"),
    )
    assert added.status_code == 201, added.text
