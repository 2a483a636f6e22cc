"""Opening a case: CaseOpened, and the validation of what the loan system sends."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from case_service.domain import CollectionCase, InvalidCommand

from .helpers import NOW, borrower, new_events, open_case


def test_opens_a_case_with_an_id_derived_from_the_loan_id() -> None:
    case = open_case()

    [event] = new_events(case)

    assert type(event).__name__ == "CaseOpened"
    assert case.id == CollectionCase.id_for_loan("L-1001") == event.originator_id
    assert event.timestamp == NOW
    assert (event.loan_id, event.currency, event.principal) == (
        "L-1001",
        "CNY",
        Decimal("100000.00"),
    )
    assert event.borrower["timezone"] == "Asia/Shanghai"
    assert case.status == "open"
    assert case.version == 1
    assert case.arrears == 0
    assert case.outstanding_balance == Decimal("100000.00")


def test_the_case_id_is_stable_and_distinct_per_loan() -> None:
    assert CollectionCase.id_for_loan("L-1") == CollectionCase.id_for_loan("L-1")
    assert CollectionCase.id_for_loan("L-1") != CollectionCase.id_for_loan("L-2")


def test_fills_phone_defaults_and_copies_the_borrower() -> None:
    given_borrower = borrower(phones=[{"number": "+8613800000009"}])
    case = open_case(borrower=given_borrower)
    given_borrower["name"] = "changed"

    assert case.borrower["phones"] == [
        {"number": "+8613800000009", "kind": "mobile", "owner": "borrower"}
    ]
    assert case.borrower["name"] == "Li Wei"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"loan_id": ""}, "loan_id"),
        ({"currency": "cny"}, "currency"),
        ({"currency": "YUAN"}, "currency"),
        ({"principal": Decimal(0)}, "principal"),
        ({"principal": Decimal("-1.00")}, "principal"),
        ({"principal": Decimal("NaN")}, "principal"),
        ({"principal": Decimal("Infinity")}, "principal"),
        ({"principal": Decimal("100.001")}, "principal"),
        ({"principal": Decimal("1e30")}, "principal"),
        ({"principal": 1000.0}, "principal"),
        ({"borrower": borrower(timezone="Mars/Olympus")}, "borrower.timezone"),
        ({"borrower": borrower(name="")}, "borrower.name"),
        ({"borrower": borrower(phones=[{"number": "1", "kind": "fax"}])}, "borrower.phones.0.kind"),
        ({"guarantors": [{"id": "G", "name": "A"}, {"id": "G", "name": "B"}]}, "guarantors.1.id"),
        ({"collateral": {"value": 1.5}}, "collateral"),
    ],
)
def test_rejects_an_invalid_opening(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        open_case(**overrides)
    assert error.value.field == field


def test_rejects_a_naive_now() -> None:
    with pytest.raises(InvalidCommand) as error:
        open_case(now=datetime(2026, 11, 2, 9))
    assert error.value.field == "now"


def test_quantizes_to_the_currency_minor_unit() -> None:
    assert open_case(principal=Decimal("100")).principal == Decimal("100.00")
    assert str(open_case(currency="JPY", principal=Decimal("5000")).principal) == "5000"
    with pytest.raises(InvalidCommand):
        open_case(currency="JPY", principal=Decimal("5000.50"))
