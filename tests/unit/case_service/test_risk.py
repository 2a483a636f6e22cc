"""The risk scorecard and its grade boundaries; RiskGraded on aging."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from case_service.domain import DEFAULT_POLICY
from case_service.domain.risk import assess

from .helpers import NOW, aged, given, missed, names, new_events


def score(dpd: int, **kw: object) -> tuple[str, int]:
    args: dict[str, object] = {
        "days_past_due": dpd,
        "outstanding_balance": Decimal("50000.00"),
        "has_collateral": False,
        "has_guarantee": False,
        "contact_lost": False,
        "promises_broken": 0,
        "promises_kept": 0,
        "policy": DEFAULT_POLICY,
        **kw,
    }
    result = assess(**args)  # type: ignore[arg-type]
    return result.grade, result.score


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, ("low", 0)),
        (30, ("low", 10)),
        (31, ("medium", 20)),
        (90, ("medium", 30)),
        (91, ("high", 45)),
        (180, ("high", 45)),
        (181, ("doubtful_loss", 60)),
        (361, ("doubtful_loss", 80)),
    ],
)
def test_grades_by_days_past_due(dpd: int, expected: tuple[str, int]) -> None:
    assert score(dpd) == expected


def test_grade_boundaries_are_inclusive_at_the_threshold() -> None:
    # 31 dpd = 20 points: exactly medium; with a kept promise (-5) = 15: low.
    assert score(31) == ("medium", 20)
    assert score(31, promises_kept=1) == ("low", 15)
    # 61 dpd (30) + lost contact (15) = 45 high; 91 dpd (45) - guarantee (10) = 35 medium.
    assert score(61, contact_lost=True) == ("high", 45)
    assert score(91, has_guarantee=True) == ("medium", 35)
    # 91 dpd (45) + 2 broken promises (20) = 65: doubtful_loss; a third adds nothing (cap).
    assert score(91, promises_broken=2) == ("doubtful_loss", 65)
    assert score(91, promises_broken=3) == ("doubtful_loss", 65)


def test_security_lowers_the_score_but_never_below_zero() -> None:
    assert score(0, has_collateral=True, has_guarantee=True) == ("low", 0)
    assert score(181, has_collateral=True) == ("high", 45)


def test_the_amount_adds_points() -> None:
    assert score(31, outstanding_balance=Decimal("100000.00")) == ("medium", 25)
    assert score(31, outstanding_balance=Decimal("1000000.00")) == ("medium", 30)


def test_aging_records_risk_graded_when_the_grade_changes() -> None:
    case = given(missed(1, date(2026, 10, 1)), guarantors=[])

    case.age(today=date(2026, 10, 15), now=NOW)
    graded = [e for e in new_events(case) if type(e).__name__ == "RiskGraded"]
    assert [(e.grade, e.score, e.as_of) for e in graded] == [("low", 15, date(2026, 10, 15))]
    assert graded[0].factors["days_past_due"] == 10

    case.age(today=date(2026, 10, 16), now=NOW)
    assert "RiskGraded" not in names(case)

    case.age(today=date(2026, 10, 1) + timedelta(days=31), now=NOW)
    assert "RiskGraded" in names(case)
    assert case.risk_grade == "medium"


def test_risk_grade_on_unpacks_as_grade_score_factors() -> None:
    case = given(missed(1, date(2026, 10, 1)), aged(date(2026, 11, 2)))
    grade, points, factors = case.risk_grade_on(date(2026, 11, 2))
    assert (grade, points) == (case.risk_grade, case.risk_score)
    assert isinstance(factors, dict)
