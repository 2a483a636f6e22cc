"""The projection's pure fold: a case's history -> its legal state."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from arrears.events import catalogue as ev
from hypothesis import given
from hypothesis import strategies as st
from legal_service.policy import limitation
from legal_service.policy.thresholds import DEFAULT_POLICY
from legal_service.projections import fold
from legal_service.readmodel.view import columns, to_view

OPENED = {
    "loan_id": "L-1",
    "product": "consumer_loan",
    "currency": "CNY",
    "principal": "100000.00",
    "borrower": {"id": "B-1", "name": "Li Wei"},
    "guarantors": [{"id": "G1", "name": "Wang Fang"}],
    "collateral": {"type": "vehicle", "value": "50000.00"},
    "rules": {},
}

LOST = {
    "as_of": "2024-06-20T00:00:00Z",
    "numbers_tried": 3,
    "call_attempts": 3,
    "times_of_day": ["morning", "afternoon", "evening"],
    "sms_sent": 1,
}


def attempt(outcome: str, at: str, channel: str) -> dict[str, Any]:
    return {
        "channel": channel,
        "party": "borrower",
        "contact_point": "+86 138****0001",
        "outcome": outcome,
        "occurred_at": at,
        "local_time_of_day": "morning",
        "agent_id": None,
        "recording_ref": None,
        "notes": None,
    }


def history() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("CaseOpened", OPENED),
        ("PaymentMissed", {"installment": 1, "due_date": "2024-02-29", "amount": "3000.00", "currency": "CNY"}),
        ("PaymentMissed", {"installment": 2, "due_date": "2024-03-29", "amount": "3000.00", "currency": "CNY"}),
        ("NoticeServed", {"kind": "demand_letter", "delivered_via": "letter", "served_at": "2024-05-01T02:00:00Z", "proof": None, "interrupts_limitation": False}),
        ("ContactAttempted", attempt("right_party_contact", "2024-05-02T02:00:00Z", "call")),
        ("ContactAttempted", attempt("delivered", "2024-06-01T02:00:00Z", "sms")),
        ("PromiseBroken", {"promise_id": "p1", "amount": "100.00", "currency": "CNY", "paid_amount": "0.00", "promised_date": "2024-05-10", "as_of": "2024-05-11"}),
    ]  # fmt: skip


def run(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    state = fold.new_state("case-1")
    for name, data in events:
        fold.apply(state, name, data)
    return state


def test_a_history_folds_into_the_legal_view() -> None:
    view = to_view(run(history()))
    assert view.guarantors == ("G1",)
    assert view.collateral
    assert view.broken_promises == 1
    assert view.stage == "none"  # a demand without proof is not a demand served
    assert [i.proof for i in view.interruptions] == [None]
    assert limitation.clock(view).expires_on.isoformat() == "2027-02-28"  # type: ignore[union-attr]
    assert (view.first_receipt_on.isoformat(), view.last_receipt_on.isoformat()) == (  # type: ignore[union-attr]
        "2024-05-02",
        "2024-06-01",
    )


def test_a_part_payment_of_the_oldest_moves_the_start_and_interrupts() -> None:
    events = [
        *history(),
        ("PaymentReceived", {"amount": "3000.00", "paid_at": "2024-07-01T01:00:00Z", "reference": "PAY-1", "allocations": [{"installment": "1", "amount": "3000.00"}], "currency": "CNY", "promise_id": None}),
    ]  # fmt: skip
    view = to_view(run(events))
    assert view.oldest_due_on is not None
    assert view.oldest_due_on.isoformat() == "2024-03-29"
    assert limitation.clock(view).expires_on.isoformat() == "2027-07-01"  # type: ignore[union-attr]
    assert view.outstanding == 97000


def test_the_legal_track() -> None:
    events = [
        *history(),
        ("LawsuitFiled", {"court": "Chaoyang", "docket_number": "D-1", "claim_amount": "6000.00", "filed_at": "2024-08-01T00:00:00Z", "currency": "CNY"}),
        ("AssetPreservationGranted", {"court_order_ref": "O-1", "docket_number": "D-1", "amount": "6000.00", "granted_at": "2024-08-05T00:00:00Z", "currency": "CNY"}),
        ("JudgmentEntered", {"docket_number": "D-1", "outcome": "in_favour", "awarded_amount": "6000.00", "entered_at": "2024-10-01T00:00:00Z", "currency": "CNY"}),
        ("EnforcementStarted", {"enforcement_ref": "E-1", "docket_number": "D-1", "started_at": "2024-11-01T00:00:00Z"}),
    ]  # fmt: skip
    state = run(events)
    assert fold.stage(state) == "enforcement"
    assert state["lawsuits"]["D-1"]["status"] == "judged"
    cols = columns(state, DEFAULT_POLICY)
    assert cols["court"] == "Chaoyang"
    assert str(cols["claim_amount"]) == "6000.00"
    closed = run([*events, ("WrittenOff", {"amount": "94000.00", "written_off_at": "2025-01-01T00:00:00Z", "reason": "r", "approved_by": "cfo", "currency": "CNY", "days_past_due": 300}), ("CaseClosed", {"reason": "written_off", "closed_at": "2025-01-01T00:00:00Z"})])  # fmt: skip
    assert fold.stage(closed) == "written_off"
    assert to_view(closed).outstanding == 0


def test_vanished_when_contact_is_lost_and_the_borrower_moved_away() -> None:
    state = run([*history(), ("ContactLost", LOST), ("FieldVisitMade", {"outcome": "moved_away", "visited_at": "2024-07-01T00:00:00Z", "address": "1 Renmin Road", "agent_id": None, "notes": None})])  # fmt: skip
    assert "vanished" in state["signals"]
    fold.apply(state, "ContactRegained", {"channel": "call", "occurred_at": "2024-08-01T00:00:00Z"})
    assert "vanished" not in state["signals"]


def test_folding_is_deterministic_and_unknown_events_change_nothing() -> None:
    state = run(history())
    before = copy.deepcopy(state)
    assert fold.apply(state, "RiskGraded", {"grade": "high"}) is False
    assert state == before == run(history())


# The typed read and fold of PaymentMissed, as every other event is folded: what the lean
# read of its usual shape must match, result or error.
_TYPED_MISSED = fold._typed(ev.PaymentMissed, fold.missed)[1]
_ANY = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_AMOUNTS = st.decimals(allow_nan=True, allow_infinity=True).map(str) | st.sampled_from(
    ["1200.00", "1e3", " 5 ", "-0", "1.005", "9" * 40, "1_000", "NaN", "x"]
)
_DUES = st.dates().map(date.isoformat) | st.sampled_from(
    ["2025-01-02", "20250102", "2025-W01-1", "2025-02-30", "2025-1-2", ""]
)
_USUAL = st.fixed_dictionaries(
    {
        "amount": _AMOUNTS,
        "due_date": _DUES,
        "installment": st.integers(),
        "currency": st.just("CNY"),
    }
)


@st.composite
def _payment_missed(draw: st.DrawFn) -> dict[str, Any]:
    """The usual shape, often with a member or two missing or of another type."""
    data = draw(_USUAL)
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del data[key]
        else:
            data[key] = draw(_ANY)
    return data


def _outcome(run: Any, data: dict[str, Any]) -> tuple[str, Any]:
    state = fold.new_state("c-1")
    state["installments"]["1"] = {"due": "2024-01-01", "amount": "1.00", "paid": "0.00"}
    try:
        run(state, data)
    except Exception as exc:  # the error itself is compared
        return "error", (type(exc), str(exc))
    return "state", state


@given(data=_payment_missed())
def test_payment_missed_folds_as_its_typed_read_does(data: dict[str, Any]) -> None:
    assert _outcome(fold.FOLDS["PaymentMissed"], data) == _outcome(_TYPED_MISSED, data)
