"""Legal costs are case facts: LegalCostIncurred in the record, a total in the view."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from case_service.domain import CollectionCase, CommandForbidden, InvalidCommand

from .helpers import NOW, TODAY, given, missed, new_events, written_off


def cost(case: CollectionCase, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "kind": "court_fee",
        "amount": Decimal("350.00"),
        "incurred_on": TODAY,
        "reference": "FEE-2026-1",
        "description": None,
        **overrides,
    }
    case.record_legal_cost(**fields, now=NOW)


def test_a_court_fee_is_recorded_in_the_case_currency_and_totalled() -> None:
    case = given(missed(1, date(2026, 10, 1)))
    cost(case)
    cost(case, kind="lawyer_fee", amount=Decimal("1000.50"), reference=None)
    first, second = new_events(case)
    assert (type(first).__name__, first.kind, first.amount, first.currency) == (
        "LegalCostIncurred",
        "court_fee",
        Decimal("350.00"),
        "CNY",
    )
    assert second.reference is None
    assert case.legal_costs_total == Decimal("1350.50")
    assert case.view(TODAY)["legal_costs_total"] == "1350.50"


def test_a_case_without_costs_shows_a_zero_total() -> None:
    assert given().view(TODAY)["legal_costs_total"] == "0.00"


def test_the_same_reference_with_the_same_figures_records_nothing() -> None:
    case = given()
    cost(case)
    case.collect_events()
    cost(case)
    assert new_events(case) == []
    assert case.legal_costs_total == Decimal("350.00")


def test_the_same_reference_with_another_amount_is_refused() -> None:
    case = given()
    cost(case)
    with pytest.raises(CommandForbidden) as error:
        cost(case, amount=Decimal("360.00"))
    assert error.value.field == "reference"


def test_a_cost_incurred_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidCommand) as error:
        cost(given(), incurred_on=TODAY + timedelta(days=2))
    assert error.value.field == "incurred_on"


def test_a_cost_is_dated_on_the_banks_business_date_not_the_utc_date() -> None:
    evening = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # 04:00 on 3 November in Shanghai
    case = given()
    case.record_legal_cost(
        kind="court_fee", amount=Decimal("50.00"), incurred_on=date(2026, 11, 3),
        reference=None, description=None, now=evening,
    )  # fmt: skip
    assert len(new_events(case)) == 1
    with pytest.raises(InvalidCommand):
        case.record_legal_cost(
            kind="court_fee", amount=Decimal("50.00"), incurred_on=date(2026, 11, 4),
            reference=None, description=None, now=evening,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "bribe"),
        ("amount", Decimal("0")),
        ("amount", Decimal("-1.00")),
        ("amount", Decimal("1.001")),
        ("reference", "x" * 101),
        ("reference", "   "),
    ],
)
def test_an_invalid_cost_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidCommand) as error:
        cost(given(), **{field: value})
    assert error.value.field == field


def test_a_bill_arriving_after_the_write_off_is_still_recorded() -> None:
    case = given(missed(1, TODAY - timedelta(days=400)), written_off())
    assert case.status == "closed"
    cost(case, kind="enforcement_fee")
    [event] = new_events(case)
    assert type(event).__name__ == "LegalCostIncurred"


def test_a_case_snapshotted_before_costs_existed_has_none() -> None:
    case = given()
    case.__dict__.pop("_legal_costs", None)
    assert case.legal_costs == []
    assert case.legal_costs_total == Decimal("0.00")
