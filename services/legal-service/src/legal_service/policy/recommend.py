"""What the legal team should do next: pure functions of (case view, today, policy).

Each recommendation is one legal task type (tasks.py turns it into a task with a stable id).
"""

from __future__ import annotations

from datetime import date

from legal_service.policy import limitation
from legal_service.policy.collection import effective_collection
from legal_service.policy.costs import cost_benefit
from legal_service.policy.model import LITIGATION, PRE_LITIGATION, CaseView, Recommendation
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy

PREPARE_DEMAND_LETTER = "PrepareDemandLetter"
REFER_TO_LEGAL = "ReferToLegal"
APPLY_FOR_ASSET_PRESERVATION = "ApplyForAssetPreservation"
DEMAND_FROM_GUARANTOR = "DemandFromGuarantor"
START_COLLATERAL_DISPOSAL = "StartCollateralDisposal"
RECOMMEND_WRITE_OFF = "RecommendWriteOff"
LIMITATION_EXPIRING = "LimitationExpiring"
TASK_TYPES = (
    PREPARE_DEMAND_LETTER,
    REFER_TO_LEGAL,
    APPLY_FOR_ASSET_PRESERVATION,
    DEMAND_FROM_GUARANTOR,
    START_COLLATERAL_DISPOSAL,
    RECOMMEND_WRITE_OFF,
    LIMITATION_EXPIRING,
)


def limitation_alerts(
    view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY
) -> list[Recommendation]:
    """180/90/30 days before expiry with no interruption since: alert, and recommend the
    demand (served with proof of delivery) that interrupts the period (art. 195(1))."""
    found = limitation.alert(view, today, policy)
    if found is None:
        return []
    key = f"{found.threshold}/{found.expires_on.isoformat()}"
    data = {
        "threshold_days": found.threshold,
        "days_left": found.days_left,
        "expires_on": found.expires_on.isoformat(),
    }
    return [
        Recommendation(
            LIMITATION_EXPIRING,
            f"limitation expires on {found.expires_on} ({found.days_left} days) "
            "with no interruption on record",
            key,
            data,
        ),
        Recommendation(
            PREPARE_DEMAND_LETTER,
            "serve a demand with proof of delivery to interrupt limitation (art. 195)",
            key,
            {**data, "kind": "demand_letter", "proof_required": True},
        ),
    ]


def referral(
    view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY
) -> list[Recommendation]:
    """DPD past the threshold, collection failed, and the arrears justify the cost."""
    if view.status != "open" or view.stage not in {"none", "demand_served"}:
        return []
    dpd = view.days_past_due(today)
    if dpd <= policy.referral_min_days_past_due or not view.collection_failed:
        return []
    arrears = view.arrears(today)
    if arrears < policy.referral_min_arrears:
        return []
    worth = cost_benefit(view, today, policy)
    if not worth.worth_pursuing:
        return []
    why = []
    if view.broken_promises:
        why.append(f"{view.broken_promises} promise(s) broken")
    if view.contact_lost:
        why.append("contact lost")
    if view.refusals:
        why.append(f"{view.refusals} refusal(s)")
    evidence = effective_collection(view, policy)
    return [
        Recommendation(
            REFER_TO_LEGAL,
            f"{dpd} days past due; collection failed ({', '.join(why)}); "
            f"net benefit {worth.net_benefit.amount}",
            "",
            {
                "days_past_due": dpd,
                "arrears": str(arrears),
                "currency": view.currency,
                "effective_collection": evidence.evidenced,
                "net_benefit": str(worth.net_benefit.amount),
            },
        )
    ]


def asset_preservation(
    view: CaseView, policy: LegalPolicy = DEFAULT_POLICY
) -> list[Recommendation]:
    """At once when the file shows the borrower vanished, died, or other creditors closing
    in (Civil Procedure Law arts. 103-104: preservation in or before a lawsuit)."""
    signals = view.signals & policy.asset_signals
    if (
        view.status != "open"
        or not signals
        or view.preservation_granted
        or view.outstanding <= 0
        or view.stage in {"judgment", "enforcement"}
    ):
        return []
    return [
        Recommendation(
            APPLY_FOR_ASSET_PRESERVATION,
            "apply for asset preservation now: " + ", ".join(sorted(signals)),
            "",
            {
                "signals": sorted(signals),
                "pre_suit": view.stage in PRE_LITIGATION,
                "amount": str(view.claim_amount or view.outstanding),
                "currency": view.currency,
            },
        )
    ]


def _ripe(view: CaseView, today: date, policy: LegalPolicy) -> bool:
    """Ripe for recourse beyond the borrower: in litigation, or referable by DPD and failure."""
    if view.status != "open":
        return False
    if view.stage in LITIGATION:
        return True
    return view.days_past_due(today) > policy.referral_min_days_past_due and (
        view.collection_failed
    )


def recourse(
    view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY
) -> list[Recommendation]:
    """Demand from each guarantor not yet demanded; dispose of collateral where there is."""
    if not _ripe(view, today, policy) or view.outstanding <= 0:
        return []
    found = [
        Recommendation(
            DEMAND_FROM_GUARANTOR,
            f"demand payment from guarantor {g}",
            g,
            {"guarantor_id": g, "amount": str(view.outstanding), "currency": view.currency},
        )
        for g in view.guarantors
        if g not in view.guarantors_demanded
    ]
    if view.collateral:
        found.append(
            Recommendation(
                START_COLLATERAL_DISPOSAL,
                "enforce the security: dispose of the collateral",
                "",
                {"amount": str(view.outstanding), "currency": view.currency},
            )
        )
    return found


def write_off(
    view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY
) -> list[Recommendation]:
    """When enforcement ended without (full) recovery, or the court found against the bank."""
    if view.status != "open" or view.outstanding <= 0:
        return []
    if view.days_past_due(today) < policy.write_off_min_days_past_due:
        return []
    outcome = view.enforcement_outcome
    if outcome is not None and outcome.without_recovery:
        reason = f"enforcement ended ({outcome.outcome}) on {outcome.ended_on}"
    elif view.judgment_outcome == "against":
        reason = "the court found against the bank"
    else:
        return []
    return [
        Recommendation(
            RECOMMEND_WRITE_OFF,
            reason,
            "",
            {
                "amount": str(view.outstanding),
                "currency": view.currency,
                "effective_collection": effective_collection(view, policy).evidenced,
            },
        )
    ]


def recommend(
    view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY
) -> list[Recommendation]:
    """Everything the policy recommends for the case today."""
    return [
        *asset_preservation(view, policy),
        *limitation_alerts(view, today, policy),
        *referral(view, today, policy),
        *recourse(view, today, policy),
        *write_off(view, today, policy),
    ]
