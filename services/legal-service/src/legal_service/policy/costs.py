"""Cost-benefit of pursuing a case through the courts: expected recovery against the legal
cost so far and the cost still to come. Assumptions are in LegalPolicy and documented in
docs/legal-service.md.

Court fees follow the State Council's Measures on the Payment of Litigation Costs
(诉讼费用交纳办法, order 481, 2006): art. 13(1) case acceptance fees for property cases and
art. 14 fees for enforcement and preservation, cumulative by bands. Amounts are in yuan; for
other currencies the same schedule is applied to the amount as a stand-in (documented).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from legal_service.policy.model import CENTS, LITIGATION, CaseView, Money
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy

Band = tuple[Decimal | None, Decimal]  # (upper bound or None, rate)

# Art. 13(1): up to 10,000 yuan a flat 50; then by bands, cumulative.
ACCEPTANCE_BANDS: Sequence[Band] = (
    (Decimal("100000"), Decimal("0.025")),
    (Decimal("200000"), Decimal("0.02")),
    (Decimal("500000"), Decimal("0.015")),
    (Decimal("1000000"), Decimal("0.01")),
    (Decimal("2000000"), Decimal("0.009")),
    (Decimal("5000000"), Decimal("0.008")),
    (Decimal("10000000"), Decimal("0.007")),
    (Decimal("20000000"), Decimal("0.006")),
    (None, Decimal("0.005")),
)
# Art. 14(1): enforcement, up to 10,000 a flat 50; then by bands.
ENFORCEMENT_BANDS: Sequence[Band] = (
    (Decimal("500000"), Decimal("0.015")),
    (Decimal("5000000"), Decimal("0.01")),
    (Decimal("10000000"), Decimal("0.005")),
    (None, Decimal("0.001")),
)
# Art. 14(2): preservation, up to 1,000 a flat 30; 1,000-100,000 1%; above 0.5%; at most 5,000.
PRESERVATION_BANDS: Sequence[Band] = (
    (Decimal("100000"), Decimal("0.01")),
    (None, Decimal("0.005")),
)


def _banded(amount: Decimal, flat: Decimal, floor: Decimal, bands: Sequence[Band]) -> Decimal:
    if amount <= floor:
        return flat
    fee, lower = flat, floor
    for upper, rate in bands:
        top = amount if upper is None else min(amount, upper)
        if top > lower:
            fee += (top - lower) * rate
        if upper is None or amount <= upper:
            break
        lower = upper
    return fee.quantize(CENTS, rounding=ROUND_HALF_UP)


def acceptance_fee(claim: Decimal) -> Decimal:
    return _banded(claim, Decimal("50"), Decimal("10000"), ACCEPTANCE_BANDS)


def enforcement_fee(amount: Decimal) -> Decimal:
    return _banded(amount, Decimal("50"), Decimal("10000"), ENFORCEMENT_BANDS)


def preservation_fee(amount: Decimal) -> Decimal:
    fee = _banded(amount, Decimal("30"), Decimal("1000"), PRESERVATION_BANDS)
    return min(fee, Decimal("5000.00"))


@dataclass(frozen=True)
class CostBenefit:
    claim: Money  # what a lawsuit would claim (or claims): the outstanding balance
    recovery_rate: Decimal
    expected_recovery: Money
    cost_so_far: Money  # legal costs recorded in legal-service (sunk: shown, not weighed)
    cost_to_come: Money
    net_benefit: Money  # expected recovery - cost to come
    worth_pursuing: bool
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "claim": self.claim.to_dict(),
            "recovery_rate": str(self.recovery_rate),
            "expected_recovery": self.expected_recovery.to_dict(),
            "cost_so_far": self.cost_so_far.to_dict(),
            "cost_to_come": self.cost_to_come.to_dict(),
            "net_benefit": self.net_benefit.to_dict(),
            "worth_pursuing": self.worth_pursuing,
            "assumptions": list(self.assumptions),
        }


def recovery_rate(view: CaseView, policy: LegalPolicy = DEFAULT_POLICY) -> tuple[Decimal, str]:
    outcome = view.enforcement_outcome
    if outcome is not None and outcome.without_recovery:
        return Decimal("0"), "enforcement ended without (full) recovery: nothing more expected"
    if view.judgment_outcome == "against":
        return Decimal("0"), "the court found against the bank"
    if view.collateral:
        rate, why = policy.recovery_rate_secured, "secured by collateral"
    elif view.guarantors:
        rate, why = policy.recovery_rate_guaranteed, "guaranteed"
    else:
        rate, why = policy.recovery_rate_unsecured, "unsecured"
    if view.judgment_outcome == "in_favour" and rate < policy.recovery_rate_after_judgment:
        rate, why = policy.recovery_rate_after_judgment, why + "; judgment in the bank's favour"
    if view.contact_lost or view.signals & {"vanished", "deceased"}:
        rate, why = rate * policy.recovery_factor_lost, why + "; borrower lost or deceased"
    return rate, why


def cost_benefit(view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY) -> CostBenefit:
    """Expected recovery vs legal cost; `today` is accepted for symmetry (fees don't age)."""
    del today
    currency = view.currency
    claim = view.claim_amount if view.claim_amount is not None else view.outstanding
    rate, why = recovery_rate(view, policy)
    expected = (view.outstanding * rate).quantize(CENTS, rounding=ROUND_HALF_UP)
    to_come = Decimal("0")
    notes = [f"recovery rate {rate} of the outstanding balance ({why})"]
    stage = view.stage
    if stage not in LITIGATION and stage not in {"closed", "written_off"}:
        acceptance = acceptance_fee(claim)
        lawyer = (policy.lawyer_fee_fixed + claim * policy.lawyer_fee_rate).quantize(CENTS)
        to_come += acceptance + lawyer
        notes.append(f"court acceptance fee {acceptance} (诉讼费用交纳办法 art. 13)")
        notes.append(
            f"lawyer {lawyer} ({policy.lawyer_fee_fixed} + {policy.lawyer_fee_rate} of the claim)"
        )
    wants_preservation = bool(view.signals & policy.asset_signals)
    if (
        policy.include_preservation_fee
        and wants_preservation
        and not view.preservation_granted
        and stage not in {"judgment", "enforcement", "closed", "written_off"}
    ):
        fee = preservation_fee(claim)
        to_come += fee
        notes.append(f"preservation fee {fee} (art. 14(2))")
    if stage not in {"enforcement", "closed", "written_off"} and expected > 0:
        fee = enforcement_fee(expected)
        to_come += fee
        notes.append(f"enforcement fee {fee} on the expected recovery (art. 14(1))")
    notes.append("fees are assumed borne by the bank; costs so far are sunk and not weighed")
    net = expected - to_come
    return CostBenefit(
        claim=Money(claim, currency),
        recovery_rate=rate,
        expected_recovery=Money(expected, currency),
        cost_so_far=Money(view.legal_costs, currency),
        cost_to_come=Money(to_come, currency),
        net_benefit=Money(net, currency),
        worth_pursuing=net > policy.min_net_benefit,
        assumptions=tuple(notes),
    )
