"""Crypto-shredding: personal data sealed per subject, erased at the end of retention unless a
legal hold stands; the history keeps every fact and its proof (docs/audit.md)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from arrears.clock import ManualClock
from case_service.application import CaseApplication
from case_service.audit.note import SignerKey
from case_service.audit_cli import main
from case_service.checkpointer.runner import Checkpointer
from case_service.cipher import FastAESCipher
from case_service.commands import Command
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings
from eventsourcing.utils import Environment
from fastapi.testclient import TestClient

from .conftest import auth, open_fields

CLEAR_VALUES = ("Li Wei", "1 Renmin Road", "+8613800000001", "Wang Fang", "+8613900000002",
                "+8613700000003", "spoke to the neighbour")  # fmt: skip


def a_closed_case(cases: CaseApplication, clock: ManualClock, loan_id: str) -> UUID:
    fields = open_fields(loan_id)
    fields["guarantors"] = [
        {"id": "G-1", "name": "Wang Fang", "phones": [{"number": "+8613900000002"}]}
    ]
    case, _ = cases.open_case(**fields)
    now = clock.now()

    def reach_and_close(c: Any) -> None:
        c.add_contact_point(number="+8613700000003", owner="spouse", source="skip_trace", now=now)
        c.record_contact_attempt(
            channel="call",
            party="spouse",
            contact_point="+8613700000003",
            outcome="no_answer",
            occurred_at=now,
            notes="spoke to the neighbour",
            now=now,
        )
        c.close(reason="settled", closed_at=now, now=now)

    (outcome,) = cases.execute_all([Command(case.id, reach_and_close)])
    assert outcome.error is None, outcome.error
    return case.id


def stored_plaintexts(cases: CaseApplication, settings: CaseServiceSettings) -> str:
    """Every stored event and snapshot with the master key's layer removed: what a DBA with
    the master key (but no destroyed subject key) could read."""
    master = FastAESCipher(Environment(env={"CIPHER_KEY": settings.cipher_key or ""}))
    with cases.recorder_.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT state FROM cases_events UNION ALL SELECT state FROM cases_snapshots")
        return "\n".join(
            master.decrypt(bytes(row["state"])).decode(errors="replace") for row in curs.fetchall()
        )


@pytest.fixture
def clock(clock: ManualClock) -> ManualClock:
    return clock


def test_personal_data_is_stored_sealed_even_under_the_master_key(
    cases: CaseApplication, clock: ManualClock, case_settings: CaseServiceSettings
) -> None:
    case_id = a_closed_case(cases, clock, "L-sealed")

    readable = stored_plaintexts(cases, case_settings)

    assert all(value not in readable for value in CLEAR_VALUES)
    assert cases.case(case_id).borrower["name"] == "Li Wei"  # the API still reads it


def test_after_erasure_the_history_reads_erased_and_still_verifies(
    cases: CaseApplication,
    clock: ManualClock,
    client: TestClient,
    case_settings: CaseServiceSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    checkpointer: Checkpointer,
    signer: SignerKey,
) -> None:
    caplog.set_level(logging.DEBUG)
    case_id = a_closed_case(cases, clock, "L-erase")
    checkpointer.resume()
    checkpointer.step()
    ref = cases.subject_keys.ref(case_id, "borrower") if cases.subject_keys else ""
    assert client.get(f"/v1/subject-keys/{ref}", headers=auth("service")).status_code == 200
    with cases.recorder_.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT state FROM cases_events ORDER BY notification_id")
        before = [bytes(row["state"]) for row in curs.fetchall()]
    clock.advance(timedelta(days=5 * 366))

    run = client.post("/v1/erasure-runs", json={}, headers=auth("service"))

    assert run.status_code == 200, run.text
    assert run.json()["erased"] == [str(case_id)]
    with cases.recorder_.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT state FROM cases_events ORDER BY notification_id")
        after = [bytes(row["state"]) for row in curs.fetchall()]
    assert after[: len(before)] == before  # no stored byte changed: only a key was destroyed
    view = client.get(f"/v1/cases/{case_id}", headers=auth("auditor")).json()
    assert view["borrower"]["name"] == "[erased]"
    assert view["guarantors"][0]["phones"][0]["number"] == "[erased]"
    assert view["personal_data_erased_on"] == cases.today().isoformat()  # the bank's date
    history = client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).text
    assert "PersonalDataErased" in history
    assert "[erased]" in history
    gone = client.get(f"/v1/subject-keys/{ref}", headers=auth("service"))
    assert gone.status_code == 410
    fetches = [r for r in caplog.records if r.getMessage() == "subject key fetched"]
    assert [r.fields["outcome"] for r in fetches] == ["active", "erased"]  # type: ignore[attr-defined]
    assert {r.fields["fetched_by"] for r in fetches} == {"test"}  # type: ignore[attr-defined]
    monkeypatch.setenv("DATABASE_URL", case_settings.database_url)
    monkeypatch.setenv("CIPHER_KEY", case_settings.cipher_key or "")
    checkpointer.step()
    assert main(["verify", "--public-key", signer.verifier.text()]) == 0
    assert main(["history", "--loan-id", "L-erase"]) == 0
    printed = capsys.readouterr().out
    assert "[erased]" in printed
    fresh = CaseApplication(case_settings, clock=clock)  # no cache: reads the store only
    try:
        assert fresh.case(case_id).borrower["address"] == "[erased]"
        readable = stored_plaintexts(fresh, case_settings)
    finally:
        fresh.close()
    for value in CLEAR_VALUES:
        assert value not in printed
        assert value not in history
        assert value not in readable
        assert value not in caplog.text


def test_a_legal_hold_refuses_erasure_until_released(
    cases: CaseApplication, clock: ManualClock, client: TestClient
) -> None:
    case_id = a_closed_case(cases, clock, "L-held")
    placed = client.post(
        f"/v1/cases/{case_id}/legal-holds",
        json={"hold_id": "LIT-7", "basis": "pending litigation 2031-77"},
        headers=auth("legal"),
    )
    assert placed.status_code == 201, placed.text
    clock.advance(timedelta(days=5 * 366))

    held = client.post("/v1/erasure-runs", json={}, headers=auth("service")).json()

    assert held["erased"] == []
    assert held["held"] == [str(case_id)]
    assert cases.case(case_id).borrower["name"] == "Li Wei"
    refused = cases.execute(
        Command(
            case_id,
            lambda c: c.erase_personal_data(
                as_of=clock.now().date(), years_by_jurisdiction={"CN": 5}, now=clock.now()
            ),
        )
    )
    assert refused.error is not None
    assert "legal hold" in str(refused.error)
    released = client.post(
        f"/v1/cases/{case_id}/legal-holds/LIT-7/releases",
        json={"reason": "litigation settled"},
        headers=auth("legal"),
    )
    assert released.status_code == 201, released.text
    run = client.post("/v1/erasure-runs", json={}, headers=auth("service")).json()
    assert run["erased"] == [str(case_id)]
    names = [
        e["type"]
        for e in client.get(f"/v1/cases/{case_id}/events", headers=auth("auditor")).json()["events"]
    ]
    assert names[-3:] == ["LegalHoldPlaced", "LegalHoldReleased", "PersonalDataErased"]


def test_retention_not_over_erases_nothing_and_a_future_day_is_refused(
    cases: CaseApplication, clock: ManualClock, client: TestClient
) -> None:
    case_id = a_closed_case(cases, clock, "L-young")
    clock.advance(timedelta(days=4 * 365))

    run = client.post("/v1/erasure-runs", json={}, headers=auth("service")).json()
    future = (cases.today() + timedelta(days=1)).isoformat()  # the bank's tomorrow
    ahead = client.post("/v1/erasure-runs", json={"as_of": future}, headers=auth("service"))

    assert run["erased"] == []
    assert cases.case(case_id).borrower["name"] == "Li Wei"
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["field"] == "as_of"


@pytest.mark.parametrize("role", ["collector", "auditor", "admin"])
def test_only_the_service_role_fetches_subject_keys(
    cases: CaseApplication, clock: ManualClock, client: TestClient, role: str
) -> None:
    case_id = a_closed_case(cases, clock, "L-keys")
    ref = cases.subject_keys.ref(case_id, "borrower") if cases.subject_keys else ""

    answer = client.get(f"/v1/subject-keys/{ref}", headers=auth(role))

    assert answer.status_code == 403


def test_a_batch_of_subject_keys_answers_each_ref_as_the_single_read_does(
    cases: CaseApplication,
    clock: ManualClock,
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    live = a_closed_case(cases, clock, "L-batch-live")
    gone = a_closed_case(cases, clock, "L-batch-gone")
    assert cases.subject_keys is not None
    borrower, guarantor, erased = (
        cases.subject_keys.ref(live, "borrower"),
        cases.subject_keys.ref(live, "guarantor:G-1"),
        cases.subject_keys.ref(gone, "borrower"),
    )
    assert cases.subject_keys.erase_case(gone)
    unknown = "0" * 32
    single = client.get(f"/v1/subject-keys/{borrower}", headers=auth("service")).json()
    caplog.clear()

    answer = client.post(
        "/v1/subject-keys:batch",
        json={"refs": [erased, borrower, unknown, guarantor, borrower]},
        headers=auth("service"),
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [k["key_id"] for k in body["keys"]] == [borrower, guarantor]
    assert body["keys"][0] == single
    assert body["keys"][1]["key"] != single["key"]  # each subject its own key
    assert body["erased"] == [erased]
    assert body["unknown"] == [unknown]
    fetches = [r.fields for r in caplog.records if r.getMessage() == "subject key fetched"]  # type: ignore[attr-defined]
    assert [(f["subject_ref"], f["outcome"]) for f in fetches] == [
        (erased, "erased"),
        (borrower, "active"),
        (unknown, "unknown"),
        (guarantor, "active"),
    ]
    for role in ("collector", "auditor", "admin"):
        refused = client.post(
            "/v1/subject-keys:batch", json={"refs": [borrower]}, headers=auth(role)
        )
        assert refused.status_code == 403
    for refs in ([], ["not-a-ref"], [borrower] * 1001):
        bad = client.post("/v1/subject-keys:batch", json={"refs": refs}, headers=auth("service"))
        assert bad.status_code == 422


def test_a_new_case_saved_with_later_personal_events_keeps_one_readable_key(
    cases: CaseApplication, case_settings: CaseServiceSettings, clock: ManualClock
) -> None:
    case = CollectionCase.open(**open_fields("L-ONE-KEY"), now=clock.now(), policy=cases.policy)
    case.record_contact_attempt(
        channel="call",
        party="borrower",
        contact_point="+8613800000001",
        outcome="no_answer",
        occurred_at=clock.now(),
        notes="rang out",
        now=clock.now(),
    )
    cases.save(case)
    # Another process (or this one after its key cache expired) reads with the stored keys.
    fresh = CaseApplication(case_settings, clock=clock)
    try:
        history = list(fresh.history(case.id))
    finally:
        fresh.close()

    assert history[0].borrower["name"] == "Li Wei"  # type: ignore[attr-defined]
    assert history[1].notes == "rang out"  # type: ignore[attr-defined]
