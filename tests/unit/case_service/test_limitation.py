"""The limitation period (PRC Civil Code arts. 188, 195): three years, restarted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from case_service.domain import CollectionCase
from case_service.domain.limitation import add_years

from .helpers import given, missed, paid, promised, sued

DUE = date(2024, 3, 1)
LATER = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # an interruption well after the due date


def test_runs_three_years_from_the_oldest_unpaid_due_date() -> None:
    case = given(missed(2, date(2024, 4, 1)), missed(1, DUE))
    assert case.limitation_expires_on == date(2027, 3, 1)


def test_nothing_unpaid_means_no_limitation_date() -> None:
    assert given().limitation_expires_on is None


def serve(proof: str | None) -> Callable[[CollectionCase], None]:
    def step(case: CollectionCase) -> None:
        case.serve_notice(
            kind="demand_letter",
            delivered_via="registered_mail",
            served_at=LATER,
            proof=proof,
            now=LATER,
        )

    return step


def plan(case: CollectionCase) -> None:
    case.agree_payment_plan(
        kind="extension",
        installments=[{"due_date": date(2026, 6, 1), "amount": Decimal("1200.00")}],
        approved_by="S-1",
        agreed_at=LATER,
        now=LATER,
    )


@pytest.mark.parametrize(
    "interruption",
    [
        paid("100.00", now=LATER),  # part payment
        promised("100.00", now=LATER),  # acknowledgement
        serve(proof="EMS-1"),  # demand served with proof
        sued(now=LATER),  # lawsuit
    ],
    ids=["part_payment", "promise", "demand_with_proof", "lawsuit"],
)
def test_restarts_from_an_interruption(interruption: Callable[[CollectionCase], None]) -> None:
    case = given(missed(1, DUE, now=LATER))
    interruption(case)
    assert case.limitation_expires_on == date(2029, 5, 4)


def test_restarts_from_a_payment_plan_then_runs_from_its_dates() -> None:
    case = given(missed(1, DUE, now=LATER))
    plan(case)
    assert case.limitation_expires_on == date(2029, 6, 1)  # the plan installment's due date


def test_a_demand_without_proof_does_not_restart_it() -> None:
    case = given(missed(1, DUE, now=LATER))
    serve(proof=None)(case)
    assert case.limitation_expires_on == date(2027, 3, 1)


def test_an_earlier_interruption_does_not_shorten_it() -> None:
    case = given(missed(1, DUE, now=LATER), paid("100.00", now=LATER))
    assert case.limitation_expires_on == date(2029, 5, 4)
    missed(2, date(2026, 5, 1), now=LATER + timedelta(days=30))(case)
    assert case.limitation_expires_on == date(2029, 5, 4)


def test_a_29_february_start_ends_on_28_february() -> None:
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
