"""The risk scorecard: low, medium, high, doubtful_loss.

Points are added for days past due (the five-tier loan classification puts loans over
90 days in substandard, over 180 in doubtful, over 360 in loss), for a large outstanding
balance, for lost contact and broken promises; points are taken off for collateral, a
guarantee and kept promises. The score never goes below 0. All weights live in CasePolicy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from .policy import CasePolicy

GRADES = ("low", "medium", "high", "doubtful_loss")


@dataclass(frozen=True)
class RiskAssessment:
    grade: str
    score: int
    factors: dict[str, int] = field(default_factory=dict)

    def __iter__(self) -> Iterator[object]:
        """Unpacks as (grade, score, factors)."""
        return iter((self.grade, self.score, self.factors))


def assess(
    *,
    days_past_due: int,
    outstanding_balance: Decimal,
    has_collateral: bool,
    has_guarantee: bool,
    contact_lost: bool,
    promises_broken: int,
    promises_kept: int,
    policy: CasePolicy,
) -> RiskAssessment:
    dpd_points = next(
        (points for lower, points in policy.risk_dpd_points if days_past_due >= lower), 0
    )
    amount_points = next(
        (points for lower, points in policy.risk_amount_points if outstanding_balance >= lower),
        0,
    )
    factors = {
        "days_past_due": dpd_points,
        "amount": amount_points,
        "collateral": policy.risk_collateral_points if has_collateral else 0,
        "guarantee": policy.risk_guarantee_points if has_guarantee else 0,
        "contactability": policy.risk_lost_contact_points if contact_lost else 0,
        "promises_broken": min(
            promises_broken * policy.risk_broken_promise_points, policy.risk_broken_promise_cap
        ),
        "promises_kept": max(
            promises_kept * policy.risk_kept_promise_points, policy.risk_kept_promise_cap
        ),
    }
    score = max(0, sum(factors.values()))
    grade = "low"
    for name, threshold in policy.risk_grade_thresholds:
        if score >= threshold:
            grade = name
    return RiskAssessment(grade=grade, score=score, factors=factors)
