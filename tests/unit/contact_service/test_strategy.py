"""Strategies: the ladder per bucket, conditions, champion/challenger by a stable hash."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from contact_service.policy.strategy import (
    Facts,
    StrategyError,
    _threshold,
    in_share,
    load_book,
    parse_strategy,
    plan,
)
from hypothesis import given, settings
from hypothesis import strategies as st

BOOK = load_book()
ENTERED = date(2026, 11, 1)


def _facts(bucket: str = "M1", **kwargs: object) -> Facts:
    return Facts(bucket=bucket, bucket_entered_on=ENTERED, **kwargs)  # type: ignore[arg-type]


def _steps(strategy: str, facts: Facts, today: date) -> list[str]:
    return [p.step.id for p in plan(BOOK.get(strategy), facts, today)]


def test_the_m1_ladder_starts_with_a_text_on_day_one() -> None:
    assert _steps("consumer_loan.standard", _facts(), date(2026, 11, 1)) == []
    assert _steps("consumer_loan.standard", _facts(), date(2026, 11, 2)) == ["m1-sms"]


def test_soft_reminders_come_before_the_first_call() -> None:
    days = {d: _steps("consumer_loan.standard", _facts(), date(2026, 11, 1 + d)) for d in range(9)}
    first_call = min(d for d, steps in days.items() if "m1-call" in steps)
    first_text = min(d for d, steps in days.items() if "m1-sms" in steps)
    assert first_text < first_call == 7


def test_an_open_promise_holds_the_reminders_back() -> None:
    assert _steps("consumer_loan.standard", _facts(open_promise=True), date(2026, 11, 2)) == []


def test_a_repeated_step_has_one_occurrence_per_period() -> None:
    strategy = BOOK.get("consumer_loan.standard")
    occurrences = {
        p.occurrence
        for d in range(7, 14)
        for p in plan(strategy, _facts(), date(2026, 11, 1 + d))
        if p.step.id == "m1-call"
    }
    # Days 7, 10 and 13 after entering M1 (1 November).
    assert sorted(occurrences) == [date(2026, 11, 8), date(2026, 11, 11), date(2026, 11, 14)]


def test_a_step_is_not_sent_more_than_max_late_days_late() -> None:
    assert "m1-sms" in _steps("consumer_loan.standard", _facts(), date(2026, 11, 5))
    assert "m1-sms" not in _steps("consumer_loan.standard", _facts(), date(2026, 11, 6))


def test_not_reached_for_days_looks_at_the_last_right_party_contact() -> None:
    reached = _facts(last_right_party_contact=datetime(2026, 11, 7, 3, tzinfo=UTC))
    assert "m1-call" not in _steps("consumer_loan.standard", reached, date(2026, 11, 8))
    assert "m1-call" in _steps("consumer_loan.standard", reached, date(2026, 11, 11))


def test_guarantor_steps_need_a_guarantor() -> None:
    today = date(2026, 11, 11)
    without = _facts("M2", parties=frozenset({"borrower"}))
    with_one = _facts("M2", parties=frozenset({"borrower", "guarantor"}))
    assert "m2-guarantor" not in _steps("consumer_loan.standard", without, today)
    assert "m2-guarantor" in _steps("consumer_loan.standard", with_one, today)


def test_conditions_on_risk_and_arrears() -> None:
    raw = {
        "name": "t",
        "version": 1,
        "product": "p",
        "buckets": {
            "M3": [
                {
                    "step": "v",
                    "action": "DispatchFieldVisit",
                    "channel": "visit",
                    "day": 0,
                    "when": [{"risk_grade_in": ["high"]}, {"min_arrears": "1000.00"}],
                }
            ]
        },
    }
    strategy = parse_strategy(raw)
    high = _facts("M3", risk_grade="high", arrears=Decimal("1000.00"))
    assert [p.step.id for p in plan(strategy, high, ENTERED)] == ["v"]
    assert plan(strategy, _facts("M3", risk_grade="low", arrears=Decimal("5000")), ENTERED) == []
    assert plan(strategy, _facts("M3", risk_grade="high", arrears=Decimal("999.99")), ENTERED) == []


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"step": "a", "action": "Shout", "day": 0}, "unknown action"),
        ({"step": "a", "action": "ScheduleCall", "channel": "sms", "day": 0}, "cannot use"),
        ({"step": "a", "action": "SendReminder", "channel": "sms", "day": 0}, "template"),
        ({"step": "a", "action": "ScheduleCall", "channel": "call"}, "missing 'day'"),
        (
            {"step": "a", "action": "ScheduleCall", "channel": "call", "day": 0, "when": ["x"]},
            "unknown condition",
        ),
    ],
)
def test_rejects_an_invalid_strategy(step: dict[str, object], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        parse_strategy({"name": "t", "version": 1, "product": "p", "buckets": {"M1": [step]}})


def test_every_shipped_strategy_loads_and_is_versioned() -> None:
    for strategy in BOOK.strategies.values():
        assert strategy.version >= 1
        assert set(strategy.buckets) <= {"M1", "M2", "M3", "M4+"}


def test_a_case_keeps_its_arm_whenever_it_is_asked() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(200)]
    first = [BOOK.assign(c, "consumer_loan").strategy.name for c in ids]
    again = [BOOK.assign(c, "consumer_loan").strategy.name for c in reversed(ids)]
    assert first == list(reversed(again))


def test_the_challenger_gets_its_share_of_cases() -> None:
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"case-{i}")) for i in range(10_000)]
    arms = [BOOK.assign(c, "consumer_loan").arm for c in ids]
    share = arms.count("challenger") / len(arms)
    assert 0.18 < share < 0.22
    assert {BOOK.assign(c, "consumer_loan").strategy.name for c in ids} == {
        "consumer_loan.standard",
        "consumer_loan.early_call",
    }


def test_raising_the_share_only_moves_cases_to_the_challenger() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(2000)]
    at_10 = {c for c in ids if in_share(c, Decimal("0.10"), "s")}
    at_30 = {c for c in ids if in_share(c, Decimal("0.30"), "s")}
    assert at_10 < at_30


def test_unknown_products_get_the_default_strategy() -> None:
    assignment = BOOK.assign("any", "mortgage")
    assert (assignment.strategy.name, assignment.arm) == ("default.standard", "champion")


def test_a_book_without_a_default_refuses_unknown_products(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: s\nversion: 1\nproduct: p\nbuckets: {}\n")
    (tmp_path / "assignments.yaml").write_text("products:\n  p: {champion: s}\n")
    book = load_book(tmp_path)
    assert book.assign("c", "p").strategy.label == "s@1"
    with pytest.raises(StrategyError):
        book.assign("c", "other")


@settings(max_examples=300, deadline=None)
@given(
    case_id=st.text(max_size=40),
    share=st.one_of(
        st.decimals(min_value=-1, max_value=2, allow_nan=False, allow_infinity=False),
        st.sampled_from([Decimal(0), Decimal(1), Decimal("0.5"), Decimal("0.1"), Decimal("1E-30")]),
    ),
    salt=st.sampled_from(["", "s", "exp-2026"]),
)
def test_a_case_is_in_the_share_exactly_when_its_point_is_below_it(
    case_id: str, share: Decimal, salt: str
) -> None:
    """`in_share` compares floats against a threshold found once per share; the rule is the
    point's decimal form below the share."""
    digest = hashlib.sha256(f"{salt}:{case_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    assert in_share(case_id, share, salt) == (Decimal(str(point)) < share)
    # and at the threshold's own neighbours, where a rounding slip would show
    edge = _threshold(share)
    for near in (math.nextafter(edge, -math.inf), edge, math.nextafter(edge, math.inf)):
        assert (near < edge) == (Decimal(str(near)) < share)
