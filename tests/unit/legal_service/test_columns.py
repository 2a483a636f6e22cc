"""lg_cases' indexed columns, derived straight from the folded state (`columns`), are what the
whole view and its limitation clock give (`to_view`, `clock`: the definition they replace),
on generated histories: installments missed, paid in part or in full and replaced by plans,
interruptions with and without proof, promises, lawsuits, closing and writing off."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from legal_service.policy.limitation import clock
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy
from legal_service.projections import fold
from legal_service.readmodel.view import columns, to_view

OPENED = {
    "loan_id": "L-1", "product": "consumer_loan", "currency": "CNY", "principal": "10000.00",
    "borrower": {"id": "B-1", "name": "Li Wei"}, "guarantors": [], "collateral": None,
    "rules": {},
}  # fmt: skip
DAYS = st.sampled_from(["2024-02-29", "2024-03-31", "2024-01-15", "2025-06-01", "2023-12-01"])
MONEY = st.sampled_from(["0.00", "100.00", "3000.00", "2999.99", "12000.00"])
PROOF = st.sampled_from([None, "", " ", "EMS1"])


def _at(day: str) -> str:
    return day + "T02:00:00Z"


events = st.one_of(
    st.builds(lambda n, due, amount: ("PaymentMissed", {"installment": n, "due_date": due,
              "amount": amount, "currency": "CNY"}), st.integers(1, 4), DAYS, MONEY),
    st.builds(lambda n, amount, day: ("PaymentReceived", {"amount": amount, "currency": "CNY",
              "paid_at": _at(day), "promise_id": None, "reference": "R",
              "allocations": [{"installment": n, "amount": amount}]}), st.integers(1, 4), MONEY,
              DAYS),
    st.builds(lambda kind, day, proof: ("NoticeServed", {"kind": kind, "delivered_via": "letter",
              "served_at": _at(day), "proof": proof, "interrupts_limitation": False}),
              st.sampled_from(["demand_letter", "legal_notice", "reminder"]), DAYS, PROOF),
    st.builds(lambda day: ("PromiseToPayMade", {"promise_id": "p", "amount": "10.00",
              "currency": "CNY", "promised_date": day, "made_at": _at(day)}), DAYS),
    st.builds(lambda day, amount: ("LawsuitFiled", {"docket_number": "D-1", "court": "C",
              "claim_amount": amount, "currency": "CNY", "filed_at": _at(day)}), DAYS, MONEY),
    st.builds(lambda day, superseded: ("PaymentPlanAgreed", {"plan_number": 1,
              "superseded": superseded, "approved_by": "m", "agreed_at": _at(day),
              "currency": "CNY", "kind": "instalment", "total": "500.00",
              "installments": [{"number": 1, "due_date": day, "amount": "500.00"}]}), DAYS,
              st.lists(st.sampled_from(["1", "2", "3"]), max_size=2)),
    st.builds(lambda reason: ("CaseClosed", {"closed_at": _at("2025-01-01"),
              "reason": reason}), st.sampled_from(["cured", "written_off"])),
    st.builds(lambda amount: ("WrittenOff", {"amount": amount, "reason": "r", "approved_by": "m",
              "currency": "CNY", "days_past_due": 200,
              "written_off_at": _at("2025-01-02")}), MONEY),
)  # fmt: skip


def reference(state: dict[str, Any], policy: LegalPolicy) -> dict[str, Any]:
    """The columns as the whole view gives them (their definition before `columns`)."""
    view = to_view(state)
    limit = clock(view, policy)
    return {
        "loan_id": state.get("loan_id"),
        "currency": state["currency"],
        "principal": Decimal(state["principal"]),
        "outstanding": view.outstanding,
        "status": state["status"],
        "stage": fold.stage(state),
        "court": state.get("court"),
        "docket_number": state.get("docket_number"),
        "claim_amount": view.claim_amount,
        "oldest_due_on": view.oldest_due_on,
        "limitation_runs_from": limit.runs_from,
        "limitation_expires_on": limit.expires_on,
        "has_guarantors": bool(view.guarantors),
        "has_collateral": view.collateral,
    }


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(events, max_size=14),
    guarantors=st.sampled_from([[], [{"id": "G1", "name": "W"}]]),
    collateral=st.sampled_from([None, {"type": "vehicle"}]),
    promise_counts=st.booleans(),
)
def test_columns_are_what_the_view_and_its_clock_give(
    history: list[tuple[str, dict[str, Any]]],
    guarantors: list[dict[str, str]],
    collateral: dict[str, str] | None,
    promise_counts: bool,
) -> None:
    policy = LegalPolicy(promise_counts_as_acknowledgement=promise_counts)
    state = fold.new_state("case-1")
    fold.apply(state, "CaseOpened", {**OPENED, "guarantors": guarantors, "collateral": collateral})
    assert columns(state, policy) == reference(state, policy)
    for name, data in history:
        fold.apply(state, name, data)
        derived = columns(state, policy)
        assert derived == reference(state, policy)
        # Equal Decimals can still differ in how they print: the exponent is kept too.
        assert [str(v) for v in derived.values()] == [
            str(v) for v in reference(state, policy).values()
        ]
    assert columns(state, DEFAULT_POLICY) == reference(state, DEFAULT_POLICY)
