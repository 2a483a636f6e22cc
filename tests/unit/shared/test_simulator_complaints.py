"""The simulator's borrowers complain under a fresh id each time, and a supervisor resolves
the complaint that is open (case-service refuses a complaint id it already has)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from arrears_dev.simulator import ladder
from arrears_dev.simulator.model import DayPlan, Loan, Portfolio


class _AlwaysComplains(random.Random):
    """Every draw below 0.4, so each dispute comes with a complaint."""

    def random(self) -> float:
        return 0.0


NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _dispute_and_resolve(loan: Loan, day: date) -> tuple[str, str]:
    """The complaint raised with a dispute on `day`, and the resolution planned on its due
    day (inside the dispute's pause, so `collect` plans nothing else)."""
    plan = DayPlan()
    ladder._dispute(loan, day, plan)
    complaint = next(a for a in plan.actions if a.kind == "complaint")
    assert loan.complaint_due is not None
    resolve = DayPlan()
    ladder.collect(loan, loan.complaint_due, NOW.date(), resolve)
    [resolution] = resolve.actions
    assert resolution.kind == "complaint_resolution"
    return complaint.body["complaint_id"], resolution.path


def test_a_second_complaint_has_its_own_id_and_each_resolution_names_the_open_one() -> None:
    loan = Portfolio.generate(1, 60, 1, NOW).loans[0]
    loan.rng = _AlwaysComplains(1)
    first_day = NOW.date() - timedelta(days=50)

    first, first_resolution = _dispute_and_resolve(loan, first_day)
    second, second_resolution = _dispute_and_resolve(loan, first_day + timedelta(days=20))

    assert first != second
    assert first_resolution == f"complaints/{first}/resolutions"
    assert second_resolution == f"complaints/{second}/resolutions"


def test_no_second_complaint_while_one_is_open() -> None:
    loan = Portfolio.generate(1, 60, 2, NOW).loans[0]
    loan.rng = _AlwaysComplains(2)
    plan = DayPlan()
    day = NOW.date() - timedelta(days=30)

    ladder._dispute(loan, day, plan)
    ladder._dispute(loan, day + timedelta(days=1), plan)

    assert [a.kind for a in plan.actions].count("complaint") == 1
