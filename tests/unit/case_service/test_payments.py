"""PaymentReceived: allocation oldest first, idempotent references, plausible amounts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from case_service.domain import CommandForbidden, InvalidCommand

from .helpers import NOW, given, missed, names, new_events, paid


def test_allocates_a_payment_to_the_oldest_unpaid_installments_first() -> None:
    case = given(
        missed(2, date(2026, 10, 1)), missed(1, date(2026, 9, 1)), missed(3, date(2026, 11, 1))
    )

    paid("1500.00")(case)

    [event] = new_events(case)
    assert event.allocations == [
        {"installment": "1", "amount": Decimal("1200.00")},
        {"installment": "2", "amount": Decimal("300.00")},
    ]
    assert case.arrears == Decimal("2100.00")
    assert case.outstanding_balance == Decimal("98500.00")
    assert case.days_past_due_on(date(2026, 11, 2)) == 32  # from 2026-10-01


def test_a_payment_beyond_the_arrears_prepays_the_balance() -> None:
    case = given(missed(1, date(2026, 10, 1)))

    paid("5000.00")(case)

    [event] = new_events(case)
    assert event.allocations == [{"installment": "1", "amount": Decimal("1200.00")}]
    assert case.arrears == 0
    assert case.outstanding_balance == Decimal("95000.00")


def test_the_same_payment_again_records_nothing() -> None:
    case = given(missed(1, date(2026, 10, 1)), paid("100.00", reference="R-1"))

    paid("100.00", reference="R-1")(case)

    assert names(case) == []
    assert case.arrears == Decimal("1100.00")


def test_forbids_a_reused_reference_with_another_amount() -> None:
    case = given(missed(1, date(2026, 10, 1)), paid("100.00", reference="R-1"))

    with pytest.raises(CommandForbidden) as error:
        paid("200.00", reference="R-1")(case)

    assert error.value.field == "reference"


@pytest.mark.parametrize("amount", ["0", "-1.00", "0.001", "Infinity", "100000.01"])
def test_rejects_payment_of_an_implausible_amount(amount: str) -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        paid(amount)(case)
    assert error.value.field == "amount"


def test_rejects_payment_of_zero() -> None:
    with pytest.raises(InvalidCommand) as error:
        given(paid("0.00"))
    assert error.value.field == "amount"


def test_rejects_a_payment_above_the_outstanding_balance() -> None:
    case = given(paid("99000.00", reference="R-1"))
    with pytest.raises(InvalidCommand) as error:
        paid("1000.01", reference="R-2")(case)
    assert error.value.field == "amount"


@pytest.mark.parametrize(
    "paid_at",
    [NOW + timedelta(hours=1), datetime(2026, 11, 2, 8)],
)
def test_rejects_a_payment_time_in_the_future_or_without_zone(paid_at: datetime) -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        case.record_payment(amount=Decimal(1), paid_at=paid_at, reference="R", now=NOW)
    assert error.value.field == "paid_at"


def test_rejects_an_empty_reference() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    with pytest.raises(InvalidCommand) as error:
        case.record_payment(amount=Decimal(1), paid_at=NOW, reference=" ", now=NOW)
    assert error.value.field == "reference"


def test_stores_the_payment_time_in_utc() -> None:
    from zoneinfo import ZoneInfo

    case = given(missed(1, date(2026, 10, 1)))
    local = datetime(2026, 11, 2, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    case.record_payment(amount=Decimal(1), paid_at=local, reference="R", now=NOW)

    [event] = new_events(case)
    assert event.paid_at == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert event.paid_at.tzinfo == UTC
