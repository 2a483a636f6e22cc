"""A payment plan from the supervisor's form: monthly instalments of one amount."""

from __future__ import annotations

from datetime import date

from console_service.web.plans import add_months, instalments


def test_a_month_later_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(date(2026, 1, 15), 1) == date(2026, 2, 15)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)


def test_the_form_becomes_monthly_instalments_of_one_amount() -> None:
    planned, errors = instalments(
        {"plan_count": "3", "plan_first_due": "2026-12-31", "plan_amount": "500.00"}
    )
    assert not errors
    assert planned == [
        {"due_date": "2026-12-31", "amount": "500.00"},
        {"due_date": "2027-01-31", "amount": "500.00"},
        {"due_date": "2027-02-28", "amount": "500.00"},
    ]


def test_a_bad_count_or_date_is_named_beside_its_field() -> None:
    planned, errors = instalments({"plan_count": "0", "plan_first_due": "soon"})
    assert planned == []
    assert set(errors) == {"plan_count", "plan_first_due"}
