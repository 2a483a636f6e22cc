"""Days past due, buckets, and the daily aging step."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from case_service.domain import DEFAULT_POLICY

from .helpers import NOW, aged, at, given, missed, names, new_events, paid, written_off

DUE = date(2026, 7, 1)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (90, "M3"),
        (91, "M4+"),
        (400, "M4+"),
    ],
)
def test_buckets_by_days_past_due(days: int, bucket: str) -> None:
    case = given(missed(1, DUE))
    day = DUE + timedelta(days=days)

    assert case.days_past_due_on(day) == days
    assert case.bucket_on(day) == bucket


def test_days_past_due_are_zero_without_arrears() -> None:
    case = given()
    assert case.days_past_due_on(date(2030, 1, 1)) == 0
    assert case.bucket_on(date(2030, 1, 1)) == "M0"


def test_counts_from_the_oldest_unpaid_installment() -> None:
    case = given(missed(2, date(2026, 9, 1)), missed(1, date(2026, 8, 1)))
    assert case.days_past_due_on(date(2026, 8, 11)) == 10


def test_aging_records_the_bucket_move() -> None:
    case = given(missed(1, date(2026, 10, 1)))

    case.age(today=date(2026, 10, 31), now=NOW)

    moved = [e for e in new_events(case) if type(e).__name__ == "DelinquencyBucketChanged"]
    assert [(e.from_bucket, e.to_bucket, e.days_past_due, e.as_of) for e in moved] == [
        ("M0", "M1", 30, date(2026, 10, 31))
    ]


def test_aging_twice_on_the_same_day_records_nothing_new() -> None:
    case = given(missed(1, date(2026, 10, 1)), aged(date(2026, 11, 2)))

    case.age(today=date(2026, 11, 2), now=NOW)

    assert names(case) == []


def test_aging_records_again_when_the_bucket_moves_on() -> None:
    case = given(missed(1, date(2026, 10, 1)), aged(date(2026, 11, 2)))

    case.age(today=date(2027, 1, 5), now=NOW)

    assert "DelinquencyBucketChanged" in names(case)
    assert case.bucket == "M4+"


def test_aging_a_cured_case_moves_it_back_to_m0() -> None:
    case = given(missed(1, date(2026, 10, 1)), aged(date(2026, 11, 2)), paid("1200.00"))

    case.age(today=date(2026, 11, 3), now=NOW)

    moved = [e for e in new_events(case) if type(e).__name__ == "DelinquencyBucketChanged"]
    assert [(e.from_bucket, e.to_bucket) for e in moved] == [("M2", "M0")]


def test_aging_does_nothing_on_a_closed_case() -> None:
    case = given(missed(1, date(2026, 1, 1)), written_off())

    case.age(today=date(2026, 11, 3), now=NOW)

    assert names(case) == []


def test_a_payment_plan_brings_days_past_due_back_to_zero_until_a_plan_installment_is_missed() -> (
    None
):
    case = given(missed(1, date(2026, 9, 1)), missed(2, date(2026, 10, 1)))
    case.agree_payment_plan(
        kind="restructuring",
        installments=[
            {"due_date": date(2026, 12, 1), "amount": Decimal("1200.00")},
            {"due_date": date(2027, 1, 1), "amount": Decimal("1200.00")},
        ],
        approved_by="supervisor-1",
        agreed_at=NOW,
        now=NOW,
    )

    [event] = new_events(case)
    assert type(event).__name__ == "PaymentPlanAgreed"
    assert event.superseded == ["1", "2"]
    assert event.total == Decimal("2400.00")
    assert case.days_past_due_on(date(2026, 11, 3)) == 0
    assert case.arrears_on(date(2026, 12, 1)) == 0
    assert case.days_past_due_on(date(2026, 12, 2)) == 1
    assert case.arrears_on(date(2026, 12, 2)) == Decimal("1200.00")
    assert case.outstanding_balance == Decimal("100000.00")


def test_aging_uses_the_given_policy_bounds() -> None:
    from dataclasses import replace

    policy = replace(DEFAULT_POLICY, bucket_bounds=(("M0", 0), ("M1", 10)))
    case = given(missed(1, date(2026, 10, 20)))

    case.age(today=date(2026, 11, 2), now=at(date(2026, 11, 2)), policy=policy)

    assert case.bucket == "M4+"


def test_aging_an_earlier_day_than_already_aged_records_nothing() -> None:
    case = given(missed(1, date(2026, 7, 1)), aged(date(2026, 11, 2)))
    assert case.bucket == "M4+"

    case.age(today=date(2026, 7, 20), now=NOW)

    assert names(case) == []
    assert case.bucket == "M4+"
