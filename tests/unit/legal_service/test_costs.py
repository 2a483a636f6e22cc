"""Court fees by the 2006 Measures on Litigation Costs, and the cost-benefit of a case."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from legal_service.policy.costs import (
    acceptance_fee,
    cost_benefit,
    enforcement_fee,
    preservation_fee,
)
from legal_service.policy.model import EnforcementOutcome

from .helpers import case

D = Decimal


@pytest.mark.parametrize(
    ("claim", "fee"),
    [
        ("5000", "50.00"),
        ("10000", "50.00"),
        ("100000", "2300.00"),  # 50 + 90,000 x 2.5%
        ("200000", "4300.00"),  # + 100,000 x 2%
        ("1000000", "13800.00"),
    ],
)
def test_acceptance_fee_bands(claim: str, fee: str) -> None:
    assert acceptance_fee(D(claim)) == D(fee)


def test_enforcement_and_preservation_fees() -> None:
    assert enforcement_fee(D("10000")) == D("50.00")
    assert enforcement_fee(D("110000")) == D("1550.00")
    assert preservation_fee(D("1000")) == D("30.00")
    assert preservation_fee(D("101000")) == D("1025.00")  # 30 + 99,000 x 1% + 1,000 x 0.5%
    assert preservation_fee(D("5000000")) == D("5000.00")  # capped


def test_cost_benefit_of_an_unsecured_case() -> None:
    found = cost_benefit(case(outstanding="80000.00"), date(2026, 6, 1))
    assert found.recovery_rate == D("0.30")
    assert found.expected_recovery.amount == D("24000.00")
    # 1,800 acceptance + 5,400 lawyer + 260 enforcement on 24,000.
    assert found.cost_to_come.amount == D("7460.00")
    assert found.net_benefit.amount == D("16540.00")
    assert found.worth_pursuing


def test_costs_so_far_are_shown_but_sunk() -> None:
    spent = cost_benefit(case(legal_costs=D("9000")), date(2026, 6, 1))
    fresh = cost_benefit(case(), date(2026, 6, 1))
    assert spent.cost_so_far.amount == D("9000")
    assert spent.net_benefit == fresh.net_benefit


def test_after_enforcement_without_recovery_nothing_is_worth_pursuing() -> None:
    ended = EnforcementOutcome("no_assets_found", D("0"), date(2026, 1, 1))
    found = cost_benefit(case(stage="enforcement", enforcement_outcome=ended), date(2026, 6, 1))
    assert found.expected_recovery.amount == 0
    assert not found.worth_pursuing


def test_collateral_and_judgment_raise_the_expected_recovery() -> None:
    secured = cost_benefit(case(collateral=True), date(2026, 6, 1))
    assert secured.recovery_rate == D("0.60")
    judged = cost_benefit(case(judgment_outcome="in_favour", stage="judgment"), date(2026, 6, 1))
    assert judged.recovery_rate == D("0.50")
    assert judged.cost_to_come.amount == enforcement_fee(D("40000.00"))
