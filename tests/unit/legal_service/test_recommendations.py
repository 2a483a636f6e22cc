"""Referral, preservation, recourse and write-off: given a case view, when it is today,
then the recommendation (at every edge)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from legal_service.policy.collection import effective_collection
from legal_service.policy.model import EnforcementOutcome
from legal_service.policy.recommend import (
    asset_preservation,
    recommend,
    recourse,
    referral,
    write_off,
)
from legal_service.policy.thresholds import LegalPolicy

from .helpers import case, kinds

DUE = date(2026, 1, 1)


def day(dpd: int) -> date:
    return DUE + timedelta(days=dpd)


def test_refers_to_legal_at_91_days_past_due_when_collection_failed() -> None:
    view = case(due=DUE, broken_promises=1)
    recs = referral(view, day(91))
    assert kinds(recs) == ["ReferToLegal"]
    assert recs[0].data["days_past_due"] == 91


def test_does_not_refer_at_90_days_past_due() -> None:
    assert referral(case(due=DUE, broken_promises=1), day(90)) == []


@pytest.mark.parametrize(
    "failure", [{"broken_promises": 2}, {"contact_lost": True}, {"refusals": 1}]
)
def test_each_kind_of_failed_collection_counts(failure: dict[str, Any]) -> None:
    assert kinds(referral(case(due=DUE, **failure), day(120))) == ["ReferToLegal"]


def test_does_not_refer_while_collection_still_works() -> None:
    assert referral(case(due=DUE), day(200)) == []


def test_does_not_refer_when_the_arrears_are_too_small() -> None:
    small = case(due=DUE, open_amount="4999.99", broken_promises=1)
    assert referral(small, day(120)) == []
    enough = case(due=DUE, open_amount="5000.00", broken_promises=1)
    assert kinds(referral(enough, day(120))) == ["ReferToLegal"]


def test_does_not_refer_when_litigation_would_cost_more_than_it_brings() -> None:
    # 6,000 outstanding, unsecured and lost: 900 expected against ~3,400 of fees.
    view = case(due=DUE, open_amount="6000.00", outstanding="6000.00", contact_lost=True)
    assert referral(view, day(120)) == []


def test_does_not_refer_twice_or_from_court() -> None:
    for stage in ("referred_to_legal", "lawsuit_filed", "judgment"):
        assert referral(case(due=DUE, broken_promises=1, stage=stage), day(120)) == []


def test_the_referral_threshold_is_configurable() -> None:
    policy = LegalPolicy(referral_min_days_past_due=60)
    assert kinds(referral(case(due=DUE, refusals=1), day(61), policy)) == ["ReferToLegal"]
    assert referral(case(due=DUE, refusals=1), day(60), policy) == []


@pytest.mark.parametrize(("gap", "evidenced"), [(29, False), (30, True), (31, True), (0, False)])
def test_effective_collection_needs_two_receipts_30_days_apart(gap: int, evidenced: bool) -> None:
    first = date(2026, 3, 1)
    view = case(first_receipt_on=first, last_receipt_on=first + timedelta(days=gap))
    found = effective_collection(view)
    assert found.evidenced is evidenced
    assert found.gap_days == gap


def test_no_receipt_no_effective_collection() -> None:
    assert effective_collection(case()).evidenced is False


@pytest.mark.parametrize("signal", ["vanished", "deceased", "other_creditors"])
def test_asset_preservation_at_once_whatever_the_days_past_due(signal: str) -> None:
    recs = asset_preservation(case(due=DUE, signals=frozenset({signal})))
    assert kinds(recs) == ["ApplyForAssetPreservation"]
    assert recs[0].data["pre_suit"] is True


def test_no_preservation_without_a_signal_or_once_granted() -> None:
    assert asset_preservation(case(due=DUE)) == []
    granted = case(due=DUE, signals=frozenset({"deceased"}), preservation_granted=True)
    assert asset_preservation(granted) == []
    assert asset_preservation(case(signals=frozenset({"asset_transfer"}))) == []


def test_guarantor_demand_and_collateral_disposal_where_they_exist() -> None:
    view = case(
        due=DUE,
        broken_promises=1,
        guarantors=("G1", "G2"),
        guarantors_demanded=frozenset({"G1"}),
        collateral=True,
    )
    recs = recourse(view, day(91))
    assert kinds(recs) == ["DemandFromGuarantor", "StartCollateralDisposal"]
    assert recs[0].key == "G2"
    assert recourse(view, day(90)) == []
    assert recourse(case(due=DUE, broken_promises=1), day(91)) == []


def test_recourse_in_court_whatever_the_failure() -> None:
    view = case(due=DUE, collateral=True, stage="judgment")
    assert kinds(recourse(view, day(10))) == ["StartCollateralDisposal"]


def test_write_off_when_enforcement_ended_without_recovery() -> None:
    ended = EnforcementOutcome("no_assets_found", Decimal("0"), day(400))
    view = case(due=DUE, stage="enforcement", enforcement_outcome=ended)
    assert kinds(write_off(view, day(401))) == ["RecommendWriteOff"]


def test_no_write_off_when_enforcement_recovered_everything() -> None:
    ended = EnforcementOutcome("recovered_in_full", Decimal("80000"), day(400))
    assert write_off(case(due=DUE, enforcement_outcome=ended), day(401)) == []


def test_write_off_after_a_judgment_against_the_bank() -> None:
    assert kinds(write_off(case(due=DUE, judgment_outcome="against"), day(91))) == [
        "RecommendWriteOff"
    ]


def test_no_write_off_before_the_loan_is_non_performing() -> None:
    ended = EnforcementOutcome("terminated", Decimal("0"), day(80))
    assert write_off(case(due=DUE, enforcement_outcome=ended), day(89)) == []


def test_everything_at_once() -> None:
    view = case(
        due=date(2024, 1, 10),
        contact_lost=True,
        signals=frozenset({"vanished"}),
        guarantors=("G1",),
        outstanding="300000.00",
        open_amount="120000.00",
    )
    recs = recommend(view, date(2026, 7, 20))  # 174 days before expiry, DPD 922
    assert kinds(recs) == [
        "ApplyForAssetPreservation",
        "LimitationExpiring",
        "PrepareDemandLetter",
        "ReferToLegal",
        "DemandFromGuarantor",
    ]
    assert recommend(case(due=DUE, status="closed", broken_promises=1), day(200)) == []
