"""PaymentMissed: the loan system's report of an unpaid installment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from case_service.domain import CommandForbidden, InvalidCommand

from .helpers import NOW, given, missed, names, new_events, written_off


def test_records_a_missed_installment() -> None:
    case = given()

    missed(1, date(2026, 10, 1))(case)

    [event] = new_events(case)
    assert type(event).__name__ == "PaymentMissed"
    assert (event.installment, event.due_date, event.amount, event.currency) == (
        1,
        date(2026, 10, 1),
        Decimal("1200.00"),
        "CNY",
    )
    assert case.arrears == Decimal("1200.00")


def test_the_same_report_again_records_nothing() -> None:
    case = given(missed(1, date(2026, 10, 1)))

    missed(1, date(2026, 10, 1))(case)

    assert names(case) == []
    assert case.version == 2


@pytest.mark.parametrize(
    ("due", "amount"), [(date(2026, 10, 2), "1200.00"), (date(2026, 10, 1), "1300.00")]
)
def test_forbids_the_same_installment_with_other_data(due: date, amount: str) -> None:
    case = given(missed(1, date(2026, 10, 1)))

    with pytest.raises(CommandForbidden) as error:
        missed(1, due, amount)(case)

    assert error.value.field == "installment"


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("0", "amount"),
        ("-5.00", "amount"),
        ("5.001", "amount"),
        ("NaN", "amount"),
        ("100000.01", "amount"),  # more than the principal
    ],
)
def test_rejects_an_implausible_installment(amount: str, field: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        given(missed(1, date(2026, 10, 1), amount))
    assert error.value.field == field


def test_rejects_arrears_above_the_outstanding_balance() -> None:
    case = given(missed(1, date(2026, 9, 1), "60000.00"))

    with pytest.raises(InvalidCommand) as error:
        missed(2, date(2026, 10, 1), "40000.01")(case)

    assert error.value.field == "amount"


def test_rejects_an_installment_not_yet_due() -> None:
    with pytest.raises(InvalidCommand) as error:
        given(missed(1, date(2026, 11, 3)))
    assert error.value.field == "due_date"


@pytest.mark.parametrize("installment", [0, 1001, True])
def test_rejects_an_installment_number_out_of_range(installment: int) -> None:
    case = given()
    with pytest.raises(InvalidCommand) as error:
        case.record_missed_payment(
            installment=installment, due_date=date(2026, 10, 1), amount=Decimal(1), now=NOW
        )
    assert error.value.field == "installment"


def test_rejects_a_float_amount() -> None:
    case = given()
    with pytest.raises(InvalidCommand) as error:
        case.record_missed_payment(
            installment=1,
            due_date=date(2026, 10, 1),
            amount=1200.0,  # type: ignore[arg-type]
            now=NOW,
        )
    assert error.value.field == "amount"


def test_forbids_a_report_on_a_closed_case() -> None:
    case = given(missed(1, date(2026, 1, 1)), written_off())
    with pytest.raises(CommandForbidden):
        missed(2, date(2026, 2, 1))(case)


def test_an_installment_due_today_in_the_banks_calendar_is_taken_while_utc_is_still_yesterday() -> (
    None
):
    evening = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # 04:00 on 3 November in Shanghai
    case = given()
    missed(1, date(2026, 11, 3), now=evening)(case)
    assert case.days_past_due_on(case.business_day(evening)) == 0
    assert case.view(case.business_day(evening))["arrears"] == "1200.00"
