"""Promises to pay: made, kept when paid in time, broken when the date passes unpaid."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from case_service.domain import CommandForbidden, InvalidCommand

from .helpers import NOW, TODAY, aged, at, given, missed, names, new_events, paid, promised


def test_records_a_promise_to_pay() -> None:
    case = given(missed(1, date(2026, 10, 1)))

    promised("600.00", days=8)(case)

    [event] = new_events(case)
    assert type(event).__name__ == "PromiseToPayMade"
    assert (event.amount, event.promised_date, event.made_at) == (
        Decimal("600.00"),
        date(2026, 11, 10),
        NOW,
    )
    assert [p["status"] for p in case.view(TODAY)["promises"]] == ["open"]


@pytest.mark.parametrize("days", [0, -1, 31])
def test_rejects_a_promised_date_not_in_the_horizon(days: int) -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        promised("600.00", days=days)(case)
    assert error.value.field == "promised_date"


def test_accepts_a_promise_at_the_end_of_the_horizon() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    promised("600.00", days=30)(case)
    assert names(case) == ["PromiseToPayMade"]


@pytest.mark.parametrize("amount", ["0", "100000.01"])
def test_rejects_a_promise_of_an_implausible_amount(amount: str) -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        promised(amount)(case)
    assert error.value.field == "amount"


def test_forbids_a_second_open_promise() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00"))
    with pytest.raises(CommandForbidden):
        promised("600.00", days=9)(case)


def test_a_payment_in_time_keeps_the_promise() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00", days=7))
    later = NOW + timedelta(days=3)

    paid("600.00", now=later)(case)

    events = new_events(case)
    assert [type(e).__name__ for e in events] == ["PaymentReceived", "PromiseKept"]
    assert (events[1].amount, events[1].kept_on) == (Decimal("600.00"), later.date())
    assert case.open_promise is None


def test_two_part_payments_in_time_keep_the_promise_with_the_second() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00"), paid("300.00", "R-1"))

    paid("300.00", "R-2")(case)

    assert names(case) == ["PaymentReceived", "PromiseKept"]


def test_a_payment_short_of_the_promise_does_not_keep_it() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00"))

    paid("599.99")(case)

    assert names(case) == ["PaymentReceived"]


def test_aging_breaks_a_promise_whose_date_passed_unpaid() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("1200.00", days=3))
    promised_date = TODAY + timedelta(days=3)

    case.age(today=promised_date, now=at(promised_date))
    assert "PromiseBroken" not in names(case)

    next_day = promised_date + timedelta(days=1)
    case.age(today=next_day, now=at(next_day))
    events = [e for e in new_events(case) if type(e).__name__ == "PromiseBroken"]
    assert [(e.promised_date, e.paid_amount, e.as_of) for e in events] == [
        (promised_date, Decimal("0.00"), next_day)
    ]
    assert [p["status"] for p in case.view(next_day)["promises"]] == ["broken"]


def test_a_payment_after_the_promised_date_does_not_keep_it() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00", days=2))

    paid("600.00", now=NOW + timedelta(days=3))(case)

    assert names(case) == ["PaymentReceived"]


def test_a_new_promise_after_a_lapsed_one_breaks_the_lapsed_one_first() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00", days=2))

    promised("600.00", days=5, now=NOW + timedelta(days=4))(case)

    assert names(case) == ["PromiseBroken", "PromiseToPayMade"]


def test_a_kept_promise_allows_a_new_one() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00"), paid("600.00"))

    promised("600.00", days=10)(case)

    assert names(case) == ["PromiseToPayMade"]


def test_aging_breaks_a_promise_only_once() -> None:
    case = given(missed(1, date(2026, 10, 1)), promised("600.00", days=1), aged(date(2026, 11, 5)))

    case.age(today=date(2026, 11, 6), now=NOW)

    assert "PromiseBroken" not in names(case)
