"""The limitation clock: three years from the oldest unpaid due date, restarted only by an
interruption with proof on record; alerts 180/90/30 days before expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from legal_service.policy import limitation
from legal_service.policy.model import Interruption
from legal_service.policy.recommend import limitation_alerts
from legal_service.policy.thresholds import LegalPolicy

from .helpers import case, demand, kinds

DUE = date(2024, 1, 10)
EXPIRES = date(2027, 1, 10)


def test_runs_three_years_from_the_oldest_unpaid_due_date() -> None:
    clock = limitation.clock(case(due=DUE))
    assert clock.started_on == DUE
    assert clock.expires_on == EXPIRES


def test_nothing_unpaid_means_no_clock() -> None:
    assert limitation.clock(case(due=None)).expires_on is None


def test_a_demand_with_proof_of_delivery_restarts_it() -> None:
    view = case(due=DUE, interruptions=(demand(date(2025, 3, 1)),))
    clock = limitation.clock(view)
    assert clock.runs_from == date(2025, 3, 1)
    assert clock.expires_on == date(2028, 3, 1)


@pytest.mark.parametrize("proof", [None, "", "   "])
def test_a_demand_without_proof_does_not_count(proof: str | None) -> None:
    view = case(due=DUE, interruptions=(demand(date(2025, 3, 1), proof=proof),))
    assert limitation.clock(view).expires_on == EXPIRES
    assert not limitation.counts(view.interruptions[0])


def test_the_latest_counting_interruption_wins() -> None:
    view = case(
        due=DUE,
        interruptions=(
            demand(date(2025, 6, 1)),
            demand(date(2026, 1, 1), proof=None),  # later, but no proof
            Interruption(date(2025, 2, 1), "part_payment", "PaymentReceived", "PAY-1"),
        ),
    )
    assert limitation.clock(view).expires_on == date(2028, 6, 1)


def test_an_interruption_before_the_start_changes_nothing() -> None:
    view = case(due=DUE, interruptions=(demand(date(2023, 12, 1)),))
    assert limitation.clock(view).expires_on == EXPIRES


@pytest.mark.parametrize(
    ("kind", "source", "proof"),
    [
        ("acknowledgement", "PaymentPlanAgreed", "plan 1 approved by sup-1"),
        ("part_payment", "PaymentReceived", "PAY-42"),
        ("lawsuit", "LawsuitFiled", "Chaoyang court (2025)京0105民初1号"),
    ],
)
def test_acknowledgement_part_payment_and_lawsuit_interrupt(
    kind: str, source: str, proof: str
) -> None:
    view = case(due=DUE, interruptions=(Interruption(date(2025, 5, 5), kind, source, proof),))
    assert limitation.clock(view).expires_on == date(2028, 5, 5)


def test_a_promise_counts_as_acknowledgement_unless_configured_off() -> None:
    promise = Interruption(date(2025, 5, 5), "acknowledgement", "PromiseToPayMade", "p-1", True)
    view = case(due=DUE, interruptions=(promise,))
    assert limitation.clock(view).expires_on == date(2028, 5, 5)
    strict = LegalPolicy(promise_counts_as_acknowledgement=False)
    assert limitation.clock(view, strict).expires_on == EXPIRES


def test_the_period_is_configurable() -> None:
    assert limitation.clock(case(due=DUE), LegalPolicy(limitation_years=2)).expires_on == date(
        2026, 1, 10
    )


@pytest.mark.parametrize(
    ("start", "expires"),
    [
        (date(2024, 2, 29), date(2027, 2, 28)),  # no 29 February in 2027: the month's last day
        (date(2025, 2, 28), date(2028, 2, 28)),  # into a leap year: the corresponding day
        (date(2025, 3, 1), date(2028, 3, 1)),
        (date(2021, 2, 28), date(2024, 2, 28)),
    ],
)
def test_leap_years(start: date, expires: date) -> None:
    assert limitation.add_years(start, 3) == expires
    assert limitation.clock(case(due=start)).expires_on == expires


def test_a_restart_on_29_february_also_ends_on_28_february() -> None:
    view = case(due=DUE, interruptions=(demand(date(2024, 2, 29)),))
    assert limitation.clock(view).expires_on == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("days_before", "band"),
    [
        (181, None),
        (180, 180),
        (179, 180),
        (91, 180),
        (90, 90),
        (89, 90),
        (31, 90),
        (30, 30),
        (29, 30),
        (1, 30),
        (0, 30),  # the last day to sue
        (-1, None),  # expired: the claim is lost, no alert
    ],
)
def test_alert_bands(days_before: int, band: int | None) -> None:
    today = EXPIRES - timedelta(days=days_before)
    found = limitation.alert(case(due=DUE), today)
    assert (found.threshold if found else None) == band
    if found:
        assert found.days_left == days_before


def test_an_alert_recommends_the_demand_that_interrupts() -> None:
    recs = limitation_alerts(case(due=DUE), EXPIRES - timedelta(days=180))
    assert kinds(recs) == ["LimitationExpiring", "PrepareDemandLetter"]
    assert recs[0].key == recs[1].key == "180/2027-01-10"
    assert recs[1].data["proof_required"] is True


def test_no_alert_181_days_before() -> None:
    assert limitation_alerts(case(due=DUE), EXPIRES - timedelta(days=181)) == []


def test_a_demand_without_proof_does_not_silence_the_alert() -> None:
    today = EXPIRES - timedelta(days=100)
    unproven = case(due=DUE, interruptions=(demand(today - timedelta(days=5), proof=None),))
    assert kinds(limitation_alerts(unproven, today)) == [
        "LimitationExpiring",
        "PrepareDemandLetter",
    ]
    proven = case(due=DUE, interruptions=(demand(today - timedelta(days=5)),))
    assert limitation_alerts(proven, today) == []


def test_a_new_expiry_gives_new_task_keys() -> None:
    first = limitation_alerts(case(due=DUE), EXPIRES - timedelta(days=30))
    later = replace(case(due=DUE), interruptions=(demand(date(2026, 12, 1)),))
    second = limitation_alerts(later, date(2029, 11, 15))
    assert first[0].key != second[0].key


@pytest.mark.parametrize("stage", ["lawsuit_filed", "judgment", "enforcement"])
def test_no_alert_once_in_court(stage: str) -> None:
    assert limitation.alert(case(due=DUE, stage=stage), EXPIRES - timedelta(days=10)) is None


def test_no_alert_on_a_closed_case() -> None:
    assert limitation.alert(case(due=DUE, status="closed"), EXPIRES - timedelta(days=10)) is None


def test_configured_bands() -> None:
    policy = LegalPolicy(limitation_alert_days=(60,))
    assert limitation.alert(case(due=DUE), EXPIRES - timedelta(days=61), policy) is None
    found = limitation.alert(case(due=DUE), EXPIRES - timedelta(days=60), policy)
    assert found is not None
    assert found.threshold == 60
